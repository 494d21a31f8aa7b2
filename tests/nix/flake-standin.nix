# Evaluates the flake's outputs and NixOS module with a stand-in nixpkgs that
# carries only `lib` (no stdenv, no NixOS here): derivations are fake records,
# and a runCommand keeps its build script and inputs so they can be read
# (writeText its text). The NixOS option tree is ./nixpkgs-standin (our own
# declarations of the nixpkgs options the module sets, see its default.nix).
# `site` is a call of the flake's lib.render as a site's flake would make it
# (pkgs is the stand-in): its script and inputs are returned too. `nixos` is
# the wiring the module made, for checks/nixos-standin.nix and the tests.
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
    writeText = name: text: fakeDrv name // { inherit text; };
    rustPlatform.buildRustPackage = a: fakeDrv a.pname;
    mattermost = fakeDrv "mattermost" // { version = "11.4.0"; };
    coreutils = fakeDrv "coreutils";
    postgresql = fakeDrv "postgresql";
    postgresql_15 = fakeDrv "postgresql-15";
    postgresql_16 = fakeDrv "postgresql-16";
    postgresql_17 = fakeDrv "postgresql-17";
    nftables = fakeDrv "nftables";
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
  system = lib.evalModules {
    modules = [ flake.nixosModules.default ./nixpkgs-standin { _module.args.pkgs = pkgs; } ] ++ modules;
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
  nixos =
    let
      c = system.config;
      service = s: { inherit (s) after requires wants before wantedBy environment preStart serviceConfig; };
    in
    {
      warnings = c.warnings;
      mattermost = removeAttrs c.services.mattermost [ "package" ] // { package = c.services.mattermost.package.name; };
      nginx = { inherit (c.services.nginx) enable appendHttpConfig serverTokens sslProtocols virtualHosts; };
      postgresql = {
        inherit (c.services.postgresql) enable enableTCPIP authentication identMap settings ensureDatabases ensureUsers;
        package = c.services.postgresql.package.name;
      };
      nftables = { inherit (c.networking.nftables) enable rulesetFile checkRuleset preCheckRuleset flushRuleset; };
      timers = c.systemd.timers;
      firewall = c.networking.firewall.enable;
      services = lib.mapAttrs (_: service) c.systemd.services;
      packages = map built (lib.filter (p: p ? script) c.systemd.packages);
    };
}
