# A credential URL with an empty user name still holds a password.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.ElasticsearchSettings.ConnectionURL = "https://:el4st1c-pw@search.example.com:9200";
  };
}
# secret: el4st1c-pw
# diagnostic: secret_in_value 6:52
