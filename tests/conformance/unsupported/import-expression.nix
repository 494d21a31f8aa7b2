# diagnostic: unsupported 3:10
let
  site = import ./site.nix;
in
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = site.domain;
}
