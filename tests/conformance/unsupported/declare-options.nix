# diagnostic: unsupported 4:3
{ lib, ... }:
{
  options.my.extra = lib.mkOption { default = 1; };
  config.services.secureMattermost.mode = "kubernetes";
  config.services.secureMattermost.domain = "chat.example.com";
}
