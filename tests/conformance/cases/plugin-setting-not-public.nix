# A plugin setting the site has not declared public is refused as a literal
# secret, without its value, naming the setting.
# secret: s3cr3t-plugin-value
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    publicPluginSettings."com.example.greeter" = [ "Greeting" ];
    settings.PluginSettings.Plugins."com.example.greeter" = {
      greeting = "hello";
      webhookSecretish = "s3cr3t-plugin-value";
    };
  };
}
