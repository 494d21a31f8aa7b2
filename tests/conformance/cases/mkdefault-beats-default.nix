# mkDefault (1000) still beats an option default (1500).
{ lib, ... }:
{
  services.secureMattermost = {
    mode = lib.mkDefault "kubernetes";
    domain = lib.mkDefault "chat.example.com";
    airGapped = lib.mkDefault false;
  };
}
