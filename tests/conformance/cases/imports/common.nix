{ lib, ... }:
{
  imports = [ ./shared.nix ];
  services.secureMattermost.settings.PluginSettings.Allowed = [ "common" ];
  services.secureMattermost.database.name = "chat";
}
