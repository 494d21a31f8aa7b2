# Imports across files, relative to the importing file; a file imported twice
# counts once; list definitions concatenate in the module system's order.
{
  imports = [
    ./imports/common.nix
    ./imports/site.nix
    { services.secureMattermost.settings.PluginSettings.Allowed = [ "inline" ]; }
  ];
  services.secureMattermost.domain = "chat.example.com";
  services.secureMattermost.settings.PluginSettings.Allowed = [ "top" ];
}
