# mkDefault loses to a plain definition, mkForce and mkOverride win.
{ lib, ... }:
{
  imports = [ ./priorities/site-defaults.nix ];
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    siteName = "Ops Chat";
    replicas = lib.mkForce 1;
    database.host = lib.mkDefault "ignored.example.com";
    auth.provider = "saml";
    smtp.port = lib.mkForce 465;
    license.edition = lib.mkOverride 900 "team";
  };
}
