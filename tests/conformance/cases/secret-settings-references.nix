# Secret settings without a dedicated option, given as references only.
{ ... }:
{
  services.secureMattermost = {
    enable = true;
    mode = "kubernetes";
    domain = "chat.example.com";
    secretSettings = {
      "ElasticsearchSettings.Password".kubernetesSecret = {
        name = "mattermost-search";
        key = "password";
      };
      "SqlSettings.AtRestEncryptKey".file = "/run/secrets/mattermost/at-rest-key";
    };
  };
}
