# Sets merge one level deep only: `auth` is defined twice inside.
{
  services.secureMattermost.auth.provider = "oidc";
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    auth.mfa.enforce = false;
  };
}
# diagnostic: parse 7:5
