# Evaluates the flake's outputs and NixOS module with a stand-in nixpkgs that
# carries only `lib` (no stdenv, no NixOS here): derivations are fake records,
# and a runCommand keeps its build script and inputs so they can be read.
# `site` is a call of the flake's lib.render as a site's flake would make it
# (pkgs is the stand-in): its script and inputs are returned too.
{
  modules,
  lib ? import <nixpkgs/lib>,
  site ? null,
}:
let
  fakeDrv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
  pkgs = {
    inherit lib;
    runCommand =
      name: env: script:
      fakeDrv name
      // {
        inherit script;
        inputs = map (d: d.name) (env.nativeBuildInputs or [ ]);
        document = env.document or null;
      };
    rustPlatform.buildRustPackage = a: fakeDrv a.pname;
    mattermost = fakeDrv "mattermost" // { version = "11.4.0"; };
    govulncheck = fakeDrv "govulncheck";
    cyclonedx-gomod = fakeDrv "cyclonedx-gomod";
  };
  # A vulnerability database as a site's flake input (flake = false) would be.
  vulnDb = {
    outPath = "/nix/store/00000000000000000000000000000000-go-vulndb";
  };
  built = d: { inherit (d) name script inputs document; };
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
  rendered = built system.config.services.secureMattermost.nixos.renderedArtifacts;
  libOutputs = builtins.attrNames flake.lib;
  example = built flake.packages.x86_64-linux.baremetal-example;
  site = if site == null then null else built (flake.lib.render (site { inherit pkgs vulnDb fakeDrv; }));
}
