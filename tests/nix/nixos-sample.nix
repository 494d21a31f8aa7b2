# A NixOS host's declaration for the stand-in checks and tests: one node with
# PostgreSQL on the same host (database.host = "localhost"), OIDC sign-in
# whose provider's address is listed for the unit's IP allow-list.
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
      host = "localhost";
      user = "mmuser";
      caFile = "/etc/ssl/certs/site-ca.pem";
      postgresqlVersion = 16;
    };
    fileStorage.driver = "local";
    classificationBanner.text = "UNCLASSIFIED - authorised use only; use is monitored";
    baremetal.backups.ageRecipient = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
    nixos = {
      policyDate = "2026-11-23";
      egressAddresses = [ "10.0.5.20/32" ];
    };
  };
}
