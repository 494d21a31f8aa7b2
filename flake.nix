{
  description = "Hardened, NIST SP 800-53 mapped Mattermost deployments from one Nix declaration";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # The shipped examples are judged against this repository's own date, so
      # a rebuild of the same revision gives the same answer. A site's system
      # sets services.secureMattermost.nixos.policyDate itself (required).
      policyDate =
        let
          d = self.lastModifiedDate or "19700101000000";
        in
        "${builtins.substring 0 4 d}-${builtins.substring 4 2 d}-${builtins.substring 6 2 d}";

      evaluate = modules: (import ./modules/standalone.nix { inherit lib modules; }).evaluated;

      helperFor =
        pkgs:
        pkgs.rustPlatform.buildRustPackage {
          pname = "secure-mattermost";
          version = (lib.importTOML ./Cargo.toml).package.version;
          src = lib.cleanSource ./.;
          cargoLock.lockFile = ./Cargo.lock;
          # The end-to-end tests need servers; the flake checks below run the policy.
          doCheck = false;
          meta.mainProgram = "secure-mattermost";
        };

      renderExample =
        pkgs: name:
        pkgs.runCommand "secure-mattermost-example-${name}"
          {
            nativeBuildInputs = [ (helperFor pkgs) ];
            document = builtins.toJSON (evaluate [ ./examples/${name}.nix ]);
            passAsFile = [ "document" ];
          }
          ''
            secure-mattermost render --input "$documentPath" --out "$out" --today ${policyDate}
          '';
    in
    {
      lib = { inherit evaluate; };

      nixosModules.default =
        { pkgs, ... }:
        {
          imports = [ ./modules/nixos.nix ];
          services.secureMattermost.nixos.helperPackage = lib.mkDefault (helperFor pkgs);
        };

      packages = forAllSystems (pkgs: {
        default = helperFor pkgs;
        secure-mattermost = helperFor pkgs;
        kubernetes-example = renderExample pkgs "kubernetes";
        baremetal-example = renderExample pkgs "baremetal";
      });

      # The examples render (a real build of the helper), and every real-Nix
      # gate of checks/ holds: the option schema, the options doc and the
      # example documents are fresh, the conformance suite's expectations
      # match real Nix, and the NixOS module evaluates against its stand-ins.
      checks = forAllSystems (
        pkgs:
        {
          kubernetes-example = renderExample pkgs "kubernetes";
          baremetal-example = renderExample pkgs "baremetal";
        }
        // lib.mapAttrs (
          name: ok:
          assert ok;
          pkgs.runCommand "secure-mattermost-check-${name}" { } "touch $out"
        ) (import ./checks { inherit lib; })
      );
    };
}
