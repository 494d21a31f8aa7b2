# The NixOS module and the flake's outputs evaluate against stand-in
# declarations of the nixpkgs options they use (tests/nix/flake-standin.nix,
# lib only): the unit is installed, no assertion fails, and a declaration
# for Kubernetes mode is refused by an assertion.
{ lib }:
let
  eval = modules: import ../tests/nix/flake-standin.nix { inherit lib modules; };
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
