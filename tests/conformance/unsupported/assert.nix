# diagnostic: unsupported 3:1
{ lib, ... }:
assert lib != null;
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
}
