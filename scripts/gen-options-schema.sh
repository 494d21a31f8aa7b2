#!/usr/bin/env bash
# Regenerates modules/options-schema.json from the module with nixpkgs' own
# option machinery (nix/options-schema.nix). Needs nix-instantiate and
# nixpkgs' lib on NIX_PATH, e.g.
#   NIX_PATH=nixpkgs=/path/to/nixpkgs.lib scripts/gen-options-schema.sh
# With --stdout the schema is printed instead of written (used by the
# staleness test in tests/conformance.rs).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/modules/options-schema.json"

json="$(nix-instantiate --eval --strict --json "$root/nix/options-schema.nix" \
  --arg lib 'import <nixpkgs/lib>')"

# Pretty-printing only changes whitespace; keys are already sorted by Nix.
if command -v jq >/dev/null 2>&1; then
  json="$(printf '%s' "$json" | jq .)"
fi

if [[ "${1:-}" == "--stdout" ]]; then
  printf '%s\n' "$json"
else
  printf '%s\n' "$json" >"$out"
  echo "wrote $out" >&2
fi
