# A whole module given as mkIf, and priorities on whole option sets.
{ lib, ... }:
{
  imports = [
    (lib.mkIf true { services.secureMattermost.smtp.server = "relay.example.com"; })
    (lib.mkIf false { services.secureMattermost.smtp.server = "never.example.com"; })
  ];
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    database = lib.mkDefault { host = "low.example.com"; user = "low"; };
    kubernetes = lib.mkForce { namespace = "forced"; };
  };
}
