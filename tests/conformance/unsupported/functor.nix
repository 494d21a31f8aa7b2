# diagnostic: unsupported 6:36
let
  callable = { __functor = self: x: x; };
in
{
  services.secureMattermost.mode = callable "kubernetes";
  services.secureMattermost.domain = "chat.example.com";
}
