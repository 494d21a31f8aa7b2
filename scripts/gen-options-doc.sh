#!/usr/bin/env bash
# Regenerate docs/options.md from the module (needs nix-instantiate and <nixpkgs/lib>).
set -euo pipefail
cd "$(dirname "$0")/.."
nix-instantiate --eval --strict --json nix/options-doc.nix --arg lib 'import <nixpkgs/lib>' \
  | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin))' > docs/options.md.tmp
mv docs/options.md.tmp docs/options.md
echo "wrote docs/options.md"
