# NixOS integration (bare-metal mode): the policy check and the rendering run
# in a derivation, so a non-compliant declaration fails `nixos-rebuild`.
# The rendered unit is installed through systemd.packages (no import from
# derivation); secrets stay files, loaded as systemd credentials. The evidence
# (report, OSCAL, SBOM) is rendered in the same derivation; with
# nixos.vulnerabilityDb the server binary is scanned there too, and an
# unwaived vulnerability fails the build like a failing rule.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.secureMattermost;
  rt = cfg.nixos;
  document = (import ./document.nix { inherit lib; cfg = removeAttrs cfg [ "nixos" ]; });
  vulnDb = if rt.vulnerabilityDb == null then null else "${rt.vulnerabilityDb}";
  scanning = vulnDb != null;
  rendered =
    pkgs.runCommand "secure-mattermost-${cfg.domain}"
      {
        nativeBuildInputs = [ rt.helperPackage ] ++ lib.optionals scanning [ pkgs.govulncheck pkgs.cyclonedx-gomod ];
        document = builtins.toJSON document;
        passAsFile = [ "document" ];
      }
      ''
        secure-mattermost render --input "$documentPath" --out "$out/share/secure-mattermost" \
          --today ${lib.escapeShellArg rt.policyDate} \
          --mattermost-bin ${rt.serverPackage}/bin/mattermost \
          --helper-bin ${rt.helperPackage}/bin/secure-mattermost${lib.optionalString scanning " \\
  --scan-binary ${rt.serverPackage}/bin/mattermost --vuln-db ${lib.escapeShellArg vulnDb}"}
        install -Dm0444 "$out/share/secure-mattermost/mattermost.service" "$out/lib/systemd/system/mattermost.service"
      '';
in
{
  imports = [ ./secure-mattermost.nix ];

  options.services.secureMattermost.nixos = {
    helperPackage = lib.mkOption {
      type = lib.types.package;
      defaultText = lib.literalMD "the secure-mattermost helper built by this flake";
      example = lib.literalExpression "inputs.secure-mattermost.packages.\${system}.default";
      description = "The secure-mattermost helper that checks and renders.";
    };
    serverPackage = lib.mkOption {
      type = lib.types.package;
      default = pkgs.mattermost;
      defaultText = lib.literalExpression "pkgs.mattermost";
      example = lib.literalExpression "pkgs.mattermostLatest";
      description = "Mattermost server package; its version must match `mattermost.version`.";
    };
    policyDate = lib.mkOption {
      type = lib.types.strMatching "[0-9]{4}-[0-9]{2}-[0-9]{2}";
      example = "2026-11-23";
      description = "Date (YYYY-MM-DD) against which justification expiry is judged. Required, and set by the site (e.g. from its own flake's lastModifiedDate), so builds are reproducible and expired waivers do not keep passing.";
    };
    vulnerabilityDb = lib.mkOption {
      type = lib.types.nullOr lib.types.path;
      default = null;
      example = lib.literalExpression "inputs.go-vulndb";
      description = ''
        Go vulnerability database the build scans the server binary
        (`serverPackage`'s `bin/mattermost`) against: a directory of OSV
        `<ID>.json` entries, given as a flake input
        (`{ url = "path:/srv/vulndb/go-osv"; flake = false; }`), a path literal or
        a derivation, so it is in the Nix store where the build sandbox can read
        it. It is copied into the world-readable store: public data, never a
        secret. The scan's SBOM and findings join the evidence; a finding not
        waived in `services.secureMattermost.vulnerabilityWaivers` fails the
        build. `null`: no scan (the report says it was not performed).
      '';
    };
    renderedArtifacts = lib.mkOption {
      type = lib.types.package;
      readOnly = true;
      default = rendered;
      defaultText = lib.literalMD "the checked, rendered artifacts of this declaration";
      description = "The checked, rendered artifacts (config.json, unit, nginx.conf, outcomes.json) and their evidence (report, OSCAL, SBOMs, the scan with `vulnerabilityDb`), under share/secure-mattermost.";
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
   {
    # A NixOS host runs the bare-metal deployment; Kubernetes manifests come
    # from `nix build` (flake packages / lib.evaluate), never from a host.
    assertions = [
      {
        assertion = cfg.mode == "baremetal";
        message = "secure-mattermost: services.secureMattermost.mode is \"${cfg.mode}\", but a NixOS host can only run mode = \"baremetal\"; render Kubernetes manifests with the flake (packages.<system>.kubernetes-example or lib.evaluate) instead.";
      }
    ];
   }
   (lib.mkIf (cfg.mode == "baremetal") {
    assertions = [
      {
        assertion = (rt.serverPackage.version or null) == cfg.mattermost.version;
        message = "secure-mattermost: services.secureMattermost.nixos.serverPackage is Mattermost ${rt.serverPackage.version or "(unknown version)"}, but the catalog and settings are pinned to ${cfg.mattermost.version}.";
      }
      {
        assertion = vulnDb == null || lib.hasPrefix builtins.storeDir vulnDb;
        message = "secure-mattermost: services.secureMattermost.nixos.vulnerabilityDb is ${toString rt.vulnerabilityDb}, outside the Nix store, where the build sandbox cannot read it; give it as a flake input, path literal or derivation.";
      }
      {
        # Forcing the document refuses literal secrets before any derivation exists.
        assertion = builtins.seq (builtins.toJSON document) true;
        message = "secure-mattermost: the declaration holds a literal secret";
      }
    ];
    users.users.mattermost = {
      isSystemUser = true;
      group = "mattermost";
    };
    users.groups.mattermost = { };
    systemd.packages = [ rendered ];
    systemd.services.mattermost.wantedBy = [ "multi-user.target" ];
    services.nginx = {
      enable = true;
      appendHttpConfig = "include ${rendered}/share/secure-mattermost/nginx.conf;";
    };
   })
  ]);
}
