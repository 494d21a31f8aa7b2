# An undeclared option fails even under a false mkIf, as in lib.
{ lib, ... }:
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    smtp = lib.mkIf false { pasword = "dead-but-secret"; };
  };
}
# secret: dead-but-secret
# diagnostic: undeclared_option 7:29
