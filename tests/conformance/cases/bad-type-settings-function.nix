# A function is not a JSON value.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.ServiceSettings.Hook = x: x;
  };
}
# diagnostic: option_type 6:37
