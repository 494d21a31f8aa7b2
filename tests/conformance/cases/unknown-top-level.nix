# A definition outside services.secureMattermost.
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
  services.nginx.enable = true;
}
# diagnostic: undeclared_option 5:12
