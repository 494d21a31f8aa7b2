# diagnostic: unsupported 5:49
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
  services.secureMattermost.siteName = builtins.readFile "/etc/hostname";
}
