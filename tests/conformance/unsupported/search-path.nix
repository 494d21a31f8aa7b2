# diagnostic: unsupported 3:13
let
  nixpkgs = <nixpkgs>;
in
{
  services.secureMattermost.mode = "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
}
