# diagnostic: unsupported 5:42
{ lib, ... }:
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = lib.strings.toLower "Chat.Example.Com";
}
