# diagnostic: path_literal 5:46
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
  services.secureMattermost.tls.keyFile = "${./tls.key}";
}
