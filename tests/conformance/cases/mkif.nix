# mkIf false drops a definition (the default comes back), mkIf true keeps it.
{ lib, ... }:
{
  services.secureMattermost = lib.mkIf true {
    mode = "kubernetes";
    domain = "chat.example.com";
    siteName = lib.mkIf false "Never";
    replicas = lib.mkIf (1 < 2) 4;
    auth = lib.mkIf false { provider = "password"; };
    database = lib.mkIf true { port = 6432; };
  };
}
