# The password itself pasted into a `…File` option: refused with a fixed
# message that names the option and the path rule, never the value.
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    database.passwordFile = "correct horse battery staple";
  };
}
# secret: correct horse battery staple
# diagnostic: option_type 7:29
