# The checks that need real Nix, each a plain expression over nixpkgs' lib
# alone (no stdenv, no builds): every attribute evaluates to `true` or throws,
# naming what is stale and the command that regenerates it.
#
#   nix-instantiate --eval --strict checks/default.nix --arg lib 'import <nixpkgs/lib>'
#
# The flake wires each one into `checks` (so `nix flake check` runs them
# wherever a full nixpkgs exists), and tests/checks.rs runs them under cargo.
{ lib }:
{
  options-schema = import ./options-schema.nix { inherit lib; };
  options-doc = import ./options-doc.nix { inherit lib; };
  examples = import ./examples.nix { inherit lib; };
  conformance = import ./conformance.nix { inherit lib; };
  nixos-standin = import ./nixos-standin.nix { inherit lib; };
}
