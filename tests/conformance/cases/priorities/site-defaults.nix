{ lib, ... }:
{
  services.secureMattermost = {
    siteName = lib.mkDefault "Site Default";
    replicas = 3;
    database.host = "db.site.internal";
    auth.provider = lib.mkForce "ldap";
    smtp.port = lib.mkOverride 10 2525;
  };
}
