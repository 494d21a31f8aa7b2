# Two different numbers for one setting at the same priority.
{
  imports = [ { services.secureMattermost.settings.ServiceSettings.ListenAddress = 8065; } ];
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.ServiceSettings.ListenAddress = 8066;
  };
}
# diagnostic: conflict 7:46
