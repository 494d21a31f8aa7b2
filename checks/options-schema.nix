# modules/options-schema.json (read by the built-in evaluator) is what the
# module declares today.
{ lib }:
let
  live = import ../nix/options-schema.nix { inherit lib; };
  committed = builtins.fromJSON (builtins.readFile ../modules/options-schema.json);
in
live == committed
|| throw "modules/options-schema.json is stale: run scripts/gen-options-schema.sh"
