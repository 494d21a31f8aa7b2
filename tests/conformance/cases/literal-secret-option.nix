# A literal secret in a trap option is refused without echoing it.
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    database.password = "correct horse battery staple";
  };
}
# secret: correct horse battery staple
