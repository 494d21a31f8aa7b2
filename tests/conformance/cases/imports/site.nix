{
  imports = [ ./shared.nix ];
  services.secureMattermost.settings.PluginSettings.Allowed = [ "site" ];
  services.secureMattermost.classificationBanner.text = "UNCLASSIFIED";
}
