# Free-form settings: per-key recursive merge, list concatenation, priorities
# and conditions at nested levels, mkBefore/mkAfter ordering.
{ lib, ... }:
{
  imports = [ ./settings/site.nix ];
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings = {
      ServiceSettings = {
        SessionLengthWebInHours = 8;
        AllowedUntrustedInternalConnections = lib.mkBefore [ "first.internal" ];
        EnableLinkPreviews = false;
        ExtendedWeb = { A = null; B = [ 1 2.5 "x" true null { c = [ ]; } ]; };
      };
      LogSettings.ConsoleLevel = lib.mkForce "DEBUG";
      PluginSettings.Plugins = lib.mkAfter [ "last" ];
      TeamSettings = lib.mkIf true { SiteName = "Ops"; };
    };
  };
}
