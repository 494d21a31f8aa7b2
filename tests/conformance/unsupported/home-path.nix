# diagnostic: unsupported 3:15
{
  imports = [ ~/site.nix ];
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
}
