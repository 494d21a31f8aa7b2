# docs/options.md is what the module's option declarations generate.
{ lib }:
import ../nix/options-doc.nix { inherit lib; } == builtins.readFile ../docs/options.md
|| throw "docs/options.md is stale: run scripts/gen-options-doc.sh"
