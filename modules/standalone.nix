# Evaluate services.secureMattermost with nothing but nixpkgs' lib (no NixOS):
#   (import ./standalone.nix { inherit lib; modules = [ ./examples/kubernetes.nix ]; }).evaluated
{ lib, modules }:
let
  eval = lib.evalModules {
    modules = [
      ./secure-mattermost.nix
      {
        _module.args.pkgs = throw "secure-mattermost: `pkgs` is not available in a standalone evaluation; declarations must not need it.";
      }
    ]
    ++ modules;
  };
in
{
  inherit (eval) options config;
  evaluated = import ./document.nix {
    inherit lib;
    cfg = eval.config.services.secureMattermost;
  };
}
