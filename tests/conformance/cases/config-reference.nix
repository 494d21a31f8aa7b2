# Definitions may depend on other options through `config`.
{ config, lib, ... }:
let
  cfg = config.services.secureMattermost;
in
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    siteName = "Chat for ${cfg.domain}";
    fileStorage.driver = lib.mkIf (cfg.mode == "baremetal") "local";
    settings = lib.mkIf (cfg.mode == "kubernetes") { TeamSettings.MaxUsersPerTeam = 50; };
    smtp.port = if cfg.smtp.connectionSecurity == "TLS" then 465 else 2525;
  };
}
