# File paths with every safe character, an equal definition twice, and a
# mkForce over a different one.
{ lib, ... }:
{
  imports = [
    { services.secureMattermost.tls.keyFile = "/run/keys/mattermost/tls.key"; }
    { services.secureMattermost.database.passwordFile = "/run/keys/other"; }
  ];
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    tls.keyFile = "/run/keys/mattermost/tls.key";
    database.passwordFile = lib.mkForce "/run/credentials/mattermost.service/db_pw-1.2+x=y,z:w~@v";
    database.caFile = "/etc/ssl/certs/../certs/db-ca.pem";
    fileStorage.directory = "/";
  };
}
