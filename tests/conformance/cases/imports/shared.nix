# Imported twice, evaluated once.
{
  services.secureMattermost.settings.PluginSettings.Allowed = [ "shared" ];
  services.secureMattermost.mode = "kubernetes";
}
