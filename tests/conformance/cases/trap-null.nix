# Setting a trap to null is allowed; empty secret-named settings are too.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    database.password = null;
    settings.EmailSettings.SMTPPassword = "";
  };
}
