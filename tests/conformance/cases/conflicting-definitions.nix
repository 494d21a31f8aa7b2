# Two modules disagree at the same priority.
{
  imports = [ { services.secureMattermost.siteName = "Chat A"; } ];
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    siteName = "Chat B";
  };
}
# diagnostic: conflict 7:16
