# Attribute paths and nested sets for the same attribute merge.
{
  services.secureMattermost.auth.provider = "oidc";
  services.secureMattermost.auth = {
    oidc.discoveryEndpoint = "https://idp.example.com/.well-known/openid-configuration";
    mfa.enforce = false;
  };
  services.secureMattermost.auth.oidc.clientId = "mattermost";
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
  };
}
