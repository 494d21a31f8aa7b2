# A module with explicit `config` (and empty `options`), importing another.
{ lib, ... }:
{
  imports = [ { config.services.secureMattermost.airGapped = false; } ];
  options = { };
  config = {
    services.secureMattermost.mode = "baremetal";
    services.secureMattermost.domain = "chat.example.com";
  };
}
