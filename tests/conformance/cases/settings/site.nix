{ lib, ... }:
{
  services.secureMattermost.settings = {
    ServiceSettings = {
      SessionLengthWebInHours = lib.mkDefault 24;
      AllowedUntrustedInternalConnections = [ "site.internal" ];
      EnableLinkPreviews = false;
    };
    LogSettings.ConsoleLevel = lib.mkDefault "INFO";
    FileSettings.MaxFileSize = 52428800;
    PluginSettings.Plugins = [ "site-a" (lib.mkIf false "dropped") ];
  };
}
