# A setting defined both null and not null.
{
  imports = [ { services.secureMattermost.settings.EmailSettings.SMTPServer = null; } ];
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.EmailSettings.SMTPServer = "smtp.example.com";
  };
}
# diagnostic: conflict 7:41
