# A bracketed IPv6 literal is a valid database host (so are host names and
# IPv4 addresses, see the examples).
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    database.host = "[fd00::5]";
    smtp.server = "10.0.0.25";
  };
}
