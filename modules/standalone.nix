# Evaluate services.secureMattermost with nothing but nixpkgs' lib (no NixOS):
#   (import ./standalone.nix { inherit lib; modules = [ ./examples/kubernetes.nix ]; }).evaluated
{ lib, modules }:
let
  eval = lib.evalModules {
    modules = [
      ./secure-mattermost.nix
      # A definition no option declares fails with a fixed message naming the
      # option, not lib's, which prints the value (a misspelt secret option).
      (import ./types.nix { inherit lib; }).refuseUnknownOptions
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
