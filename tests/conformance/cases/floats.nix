# Floats in free-form settings.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.MetricsSettings.SampleRate = 0.25;
    settings.MetricsSettings.Scale = 1.5;
    settings.MetricsSettings.Whole = 2.0;
    settings.MetricsSettings.Computed = 1 + 0.5;
  };
}
