# mode has no default; a definition switched off does not count.
{ lib, ... }:
{
  services.secureMattermost.mode = lib.mkIf false "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
}
