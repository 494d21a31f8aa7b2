#!/usr/bin/env bash
# Regenerate examples/*.json with real Nix and nixpkgs' lib (<nixpkgs/lib> on
# NIX_PATH). Only real Nix writes these files; a test checks they are fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
lib_dir=$(nix-instantiate --eval -E 'toString <nixpkgs/lib>' | tr -d '"')
for nix in examples/*.nix; do
  json="${nix%.nix}.json"
  nix-instantiate --eval --strict --json -E \
    "let lib = import <nixpkgs/lib>; in (import ./modules/standalone.nix { inherit lib; modules = [ ./$nix ]; }).evaluated" \
    | python3 -c 'import json,sys; json.dump(json.load(sys.stdin), sys.stdout, indent=2, sort_keys=True); print()' > "$json.tmp"
  mv "$json.tmp" "$json"
  echo "wrote $json (nixpkgs lib at $lib_dir)"
done
