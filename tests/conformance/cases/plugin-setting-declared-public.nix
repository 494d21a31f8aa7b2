# Plugin settings are secret unless the site declares them public
# (publicPluginSettings, by plugin id, keys compared ASCII case-insensitively);
# an empty string is no secret.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    publicPluginSettings."com.example.greeter" = [ "Greeting" "other" ];
    settings.PluginSettings.Plugins."com.example.greeter" = {
      greeting = "hello";
      Other = "world";
      Empty = "";
    };
  };
}
