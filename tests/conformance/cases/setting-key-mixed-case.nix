# Secret-named settings keys are matched lower-cased: a plugin's upper- or
# mixed-case key is refused like `SMTPPassword`.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.PluginSettings.Plugins."com.example.sso" = {
      CLIENT_SECRET = "plugin-s3cr3t-value";
      ApiKEY = "plugin-api-key-value";
      DisplayName = "SSO";
    };
  };
}
# secret: plugin-s3cr3t-value
# secret: plugin-api-key-value
# diagnostic: secret_in_value 9:16
