# diagnostic: unsupported 6:38
{ lib, ... }:
with lib;
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = toLower "chat.example.com";
}
