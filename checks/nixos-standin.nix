# The NixOS module and the flake's outputs evaluate against stand-in
# declarations of the nixpkgs options they use (tests/nix/flake-standin.nix,
# lib only): the unit is installed, no assertion fails, and a declaration
# for Kubernetes mode is refused by an assertion. The rendering derivation
# scans the server only when a vulnerability database is given (NixOS:
# nixos.vulnerabilityDb, in the store; a site's flake: lib.render's vulnDb),
# with govulncheck and cyclonedx-gomod from pkgs on its PATH.
{ lib }:
let
  eval = modules: import ../tests/nix/flake-standin.nix { inherit lib modules; };
  store = name: "/nix/store/00000000000000000000000000000000-${name}";
  scanArgs = "--scan-binary ${store "mattermost"}/bin/mattermost --vuln-db ${store "go-vulndb"}";
  has = needle: s: lib.hasInfix needle s;
  base = {
    enable = true;
    mode = "baremetal";
    domain = "chat.example.com";
    nixos.policyDate = "2026-11-23";
  };
  scanned = eval [ { services.secureMattermost = base // { nixos = base.nixos // { vulnerabilityDb = { outPath = store "go-vulndb"; }; }; }; } ];
  outside = eval [ { services.secureMattermost = base // { nixos = base.nixos // { vulnerabilityDb = "/srv/vulndb/go-osv"; }; }; } ];
  site =
    args:
    (import ../tests/nix/flake-standin.nix {
      inherit lib;
      modules = [ { services.secureMattermost = base; } ];
      site = { pkgs, vulnDb, ... }: { inherit pkgs; modules = [ ../examples/baremetal.nix ]; policyDate = "2026-11-23"; } // args { inherit pkgs vulnDb; };
    }).site;
  siteScanned = site ({ vulnDb, ... }: { inherit vulnDb; });
  sitePlain = site (_: { });
  refused = args: !(builtins.tryEval (builtins.deepSeq (site args) true)).success;
  ok = eval [
    {
      services.secureMattermost = {
        enable = true;
        mode = "baremetal";
        domain = "chat.example.com";
        nixos.policyDate = "2026-11-23";
      };
    }
  ];
  k8s = eval [
    {
      services.secureMattermost = {
        enable = true;
        mode = "kubernetes";
        domain = "chat.example.com";
        nixos.policyDate = "2026-11-23";
      };
    }
  ];
in
(ok.failedAssertions == [ ] || throw "NixOS stand-in: assertions failed: ${toString ok.failedAssertions}")
&& (ok.unit == [ "secure-mattermost-chat.example.com" ] || throw "NixOS stand-in: the rendered unit is not installed")
&& (ok.wantedBy == [ "multi-user.target" ] || throw "NixOS stand-in: mattermost.service is not wanted by multi-user.target")
&& (k8s.failedAssertions != [ ] || throw "NixOS stand-in: mode = \"kubernetes\" under NixOS must fail an assertion")
&& (ok.rendered.inputs == [ "secure-mattermost" ] && !(has "--scan-binary" ok.rendered.script) || throw "NixOS stand-in: without nixos.vulnerabilityDb the derivation must not scan")
&& (scanned.failedAssertions == [ ] || throw "NixOS stand-in: a store vulnerabilityDb fails an assertion: ${toString scanned.failedAssertions}")
&& (scanned.rendered.inputs == [ "secure-mattermost" "govulncheck" "cyclonedx-gomod" ] || throw "NixOS stand-in: govulncheck and cyclonedx-gomod are not on the scanning derivation's PATH")
&& (has scanArgs scanned.rendered.script || throw "NixOS stand-in: nixos.vulnerabilityDb does not add ${scanArgs}")
&& (lib.any (has "vulnerabilityDb") outside.failedAssertions || throw "NixOS stand-in: a vulnerabilityDb outside the store must fail an assertion")
&& (sitePlain.inputs == [ "secure-mattermost" ] && !(has "--scan-binary" sitePlain.script) || throw "flake stand-in: lib.render without vulnDb must not scan")
&& (siteScanned.inputs == [ "secure-mattermost" "govulncheck" "cyclonedx-gomod" ] && has scanArgs siteScanned.script || throw "flake stand-in: lib.render with vulnDb does not scan the server")
&& (refused ({ pkgs, ... }: { scanBinary = pkgs.mattermost; }) || throw "flake stand-in: lib.render accepted scanBinary without vulnDb")
&& (refused ({ vulnDb, ... }: { inherit vulnDb; serverPackage = { type = "derivation"; name = "mattermost"; version = "10.5.0"; outPath = store "mattermost"; }; }) || throw "flake stand-in: lib.render scanned a server of another version")
&& (refused (_: { vulnDb = "/srv/vulndb/go-osv"; }) || throw "flake stand-in: lib.render accepted a vulnDb outside the store")
&& (refused (_: { policyDate = "23.11.2026"; }) || throw "flake stand-in: lib.render accepted a malformed policyDate")
