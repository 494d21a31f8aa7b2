# A single bare-metal / VM node behind nginx, with PostgreSQL on the same host.
{ lib, ... }:
{
  services.secureMattermost = {
    enable = true;
    mode = "baremetal";
    domain = "chat.example.com";
    siteName = "Program Chat";
    auth.provider = "oidc";
    auth.oidc = {
      discoveryEndpoint = "https://idp.example.com/.well-known/openid-configuration";
      clientId = "mattermost";
    };
    database = {
      host = "db.example.internal";
      user = "mmuser";
      caFile = "/etc/ssl/certs/site-ca.pem";
      postgresqlVersion = 16;
    };
    fileStorage.driver = "local";
    classificationBanner.text = "UNCLASSIFIED - authorised use only; use is monitored";
    smtp = {
      server = "smtp.example.internal";
      username = "mattermost";
    };
    settings.ServiceSettings.SessionLengthWebInHours = lib.mkDefault 8;
  };
}
