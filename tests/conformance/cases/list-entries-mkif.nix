# Conditions and priorities on individual list entries.
{ lib, ... }:
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.ServiceSettings.CorsAllowedOrigins = [
      "https://a.example.com"
      (lib.mkIf false "https://never.example.com")
      (lib.mkDefault "https://b.example.com")
      (lib.mkMerge [ ])
    ];
  };
}
