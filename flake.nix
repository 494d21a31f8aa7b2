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
          # restore-config talks TLS to PostgreSQL through the system's OpenSSL.
          nativeBuildInputs = [ pkgs.pkg-config ];
          buildInputs = [ pkgs.openssl ];
          # The end-to-end tests need servers; the flake checks below run the policy.
          doCheck = false;
          meta.mainProgram = "secure-mattermost";
        };

      # Checks one declaration and renders, in one derivation, its artifacts
      # and the evidence beside them (report, OSCAL, the helper's SBOM) and,
      # when the site gives a vulnerability database, the server's SBOM and
      # scan: a failing rule or an unwaived vulnerability
      # (services.secureMattermost.vulnerabilityWaivers) fails the build.
      # `vulnDb` is a directory of OSV <ID>.json entries in the store (a flake
      # input such as `{ url = "path:/srv/vulndb/go-osv"; flake = false; }`, a
      # path literal, a derivation): the build reads nothing else. It is public
      # data, copied into the world-readable store, never a secret.
      # `scanBinary` defaults to the server package's bin/mattermost.
      #
      #   packages.x86_64-linux.chat = secure-mattermost.lib.render {
      #     pkgs = nixpkgs.legacyPackages.x86_64-linux;
      #     modules = [ ./chat.nix ];
      #     policyDate = "2026-11-23";
      #     vulnDb = inputs.go-vulndb;
      #   };
      render =
        {
          pkgs,
          modules,
          policyDate,
          vulnDb ? null,
          scanBinary ? null,
          serverPackage ? pkgs.mattermost,
          name ? "rendered",
        }:
        let
          document = evaluate modules;
          pinned = document.secureMattermost.mattermost.version;
          scanning = vulnDb != null;
          inStore =
            what: v:
            let
              s = "${v}";
            in
            if lib.hasPrefix builtins.storeDir s then
              s
            else
              throw "secure-mattermost lib.render: ${what} must be in the Nix store (a flake input, path literal or derivation): the build cannot read ${s}";
          binary =
            if scanBinary != null then
              inStore "scanBinary" scanBinary
            else if (serverPackage.version or null) == pinned then
              "${serverPackage}/bin/mattermost"
            else
              throw "secure-mattermost lib.render: serverPackage is Mattermost ${serverPackage.version or "(unknown version)"}, but the declaration is pinned to ${pinned}; pass the pinned server (serverPackage or scanBinary).";
          scanArgs = lib.optionalString scanning (
            " --scan-binary ${lib.escapeShellArg binary} --vuln-db ${lib.escapeShellArg (inStore "vulnDb" vulnDb)}"
          );
        in
        if builtins.match "[0-9]{4}-[0-9]{2}-[0-9]{2}" policyDate == null then
          throw "secure-mattermost lib.render: policyDate must be YYYY-MM-DD (waiver expiry is judged on it)"
        else if scanBinary != null && !scanning then
          throw "secure-mattermost lib.render: scanBinary needs vulnDb (the scan runs only against a database the site provides)"
        else
          pkgs.runCommand "secure-mattermost-${name}"
            {
              nativeBuildInputs = [
                (helperFor pkgs)
              ]
              ++ lib.optionals scanning [
                pkgs.govulncheck
                pkgs.cyclonedx-gomod
              ];
              document = builtins.toJSON document;
              passAsFile = [ "document" ];
            }
            ''
              secure-mattermost render --input "$documentPath" --out "$out" --today ${lib.escapeShellArg policyDate}${scanArgs}
            '';

      renderExample =
        pkgs: name:
        render {
          inherit pkgs policyDate;
          name = "example-${name}";
          modules = [ ./examples/${name}.nix ];
        };
    in
    {
      lib = { inherit evaluate render; };

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
