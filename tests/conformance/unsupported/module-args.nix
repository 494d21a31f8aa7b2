# diagnostic: unsupported 5:3
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
  _module.args.site = "x";
}
