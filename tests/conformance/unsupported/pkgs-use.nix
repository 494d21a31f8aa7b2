# diagnostic: eval 5:38
{ pkgs, ... }:
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = pkgs.lib.toLower "chat.example.com";
}
