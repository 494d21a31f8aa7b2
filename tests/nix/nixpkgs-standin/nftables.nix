# Stand-in for nixpkgs' nixos/modules/services/networking/nftables.nix: the
# options modules/nixos.nix sets.
# Revision: faukah/nixpkgs 3b20077cd82fd1f099e92e2792d73e3176d4869d.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.networking.nftables = {
    enable = mkOption { type = types.bool; default = false; };
    ruleset = mkOption { type = types.lines; default = ""; };
    rulesetFile = mkOption { type = types.nullOr types.path; default = null; };
    checkRuleset = mkOption { type = types.bool; default = true; };
    preCheckRuleset = mkOption { type = types.lines; default = ""; };
    flushRuleset = mkOption { type = types.bool; default = false; };
  };
}
