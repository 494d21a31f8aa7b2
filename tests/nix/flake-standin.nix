# Evaluates the flake's outputs and NixOS module with a stand-in nixpkgs that
# carries only `lib` (no stdenv, no NixOS here): derivations are fake records.
{
  modules,
  lib ? import <nixpkgs/lib>,
}:
let
  fakeDrv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
  pkgs = {
    inherit lib;
    runCommand = name: _env: _script: fakeDrv name;
    rustPlatform.buildRustPackage = a: fakeDrv a.pname;
    mattermost = fakeDrv "mattermost" // { version = "11.4.0"; };
  };
  flake = (import ../../flake.nix).outputs {
    self = { lastModifiedDate = "20261123000000"; };
    nixpkgs = {
      inherit lib;
      legacyPackages.x86_64-linux = pkgs;
      legacyPackages.aarch64-linux = pkgs;
    };
  };
  # Just enough of NixOS's option tree for the module to evaluate.
  nixosStub = {
    options = {
      assertions = lib.mkOption { type = lib.types.listOf lib.types.unspecified; default = [ ]; };
      users = lib.mkOption { type = lib.types.attrsOf lib.types.unspecified; default = { }; };
      systemd.packages = lib.mkOption { type = lib.types.listOf lib.types.unspecified; default = [ ]; };
      systemd.services = lib.mkOption { type = lib.types.attrsOf (lib.types.attrsOf lib.types.unspecified); default = { }; };
      services.nginx = lib.mkOption { type = lib.types.attrsOf lib.types.unspecified; default = { }; };
    };
  };
  system = lib.evalModules {
    modules = [ flake.nixosModules.default nixosStub { _module.args.pkgs = pkgs; } ] ++ modules;
  };
  failed = lib.filter (a: !a.assertion) system.config.assertions;
in
{
  flakeOutputs = builtins.attrNames flake;
  packages = builtins.attrNames flake.packages.x86_64-linux;
  checks = builtins.attrNames flake.checks.x86_64-linux;
  unit = map (p: p.name) system.config.systemd.packages;
  wantedBy = system.config.systemd.services.mattermost.wantedBy or [ ];
  failedAssertions = map (a: a.message) failed;
  policyDate = system.config.services.secureMattermost.nixos.policyDate;
}
