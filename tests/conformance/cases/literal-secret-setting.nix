# A secret-named setting with a value, and a credential inside a URL.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.SqlSettings.DataSourceReplicas = [ "postgres://mm:s3cret@db.example.com/mattermost" ];
    settings.GitLabSettings.Secret = "abc123";
    settings.EmailSettings.SMTPPassword = "";
  };
}
# secret: abc123
# secret: s3cret
