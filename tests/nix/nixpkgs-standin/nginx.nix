# Stand-in for nixpkgs' nixos/modules/services/web-servers/nginx/default.nix:
# the options modules/nixos.nix sets. virtualHosts' submodule
# (vhost-options.nix) is left open here: the module only empties it.
# Revision: faukah/nixpkgs 3b20077cd82fd1f099e92e2792d73e3176d4869d.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.services.nginx = {
    enable = mkOption { type = types.bool; default = false; };
    appendHttpConfig = mkOption { type = types.lines; default = ""; };
    commonHttpConfig = mkOption { type = types.lines; default = ""; };
    serverTokens = mkOption { type = types.bool; default = false; };
    sslProtocols = mkOption { type = types.str; default = "TLSv1.2 TLSv1.3"; };
    sslCiphers = mkOption { type = types.nullOr types.str; default = "(nixpkgs' intermediate list)"; };
    recommendedTlsSettings = mkOption { type = types.bool; default = false; };
    virtualHosts = mkOption {
      type = types.attrsOf (types.submodule { freeformType = types.attrsOf types.unspecified; });
      default = {
        localhost = { };
      };
    };
  };
}
