# `with lib;` brings mkDefault & co. into scope; local names still win.
{ lib, ... }:
with lib;
let
  optional = "shadowed";
in
{
  services.secureMattermost = mkMerge [
    {
      mode = mkDefault "kubernetes";
      domain = "chat.example.com";
      siteName = optional;
    }
    (mkIf true { replicas = mkForce 2; })
    { settings.Plugins = optionals true [ "a" ] ++ lib.optional false "b"; }
    (optionalAttrs false { replicas = 9; })
  ];
}
