# diagnostic: unsupported 5:40
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
  services.secureMattermost.siteName = throw "no site name";
}
