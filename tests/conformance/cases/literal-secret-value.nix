# A credential-looking string in an ordinary option.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    auth.oidc.discoveryEndpoint = "https://client:topsecret@idp.example.com/.well-known/openid-configuration";
  };
}
# secret: topsecret
