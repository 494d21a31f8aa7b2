#!/usr/bin/env bash
# The main job on the shipped examples: check and render both deployment
# modes from their .nix declarations and print the outcome tables. Needs
# Rust and OpenSSL's headers (installed when missing); no Nix: the helper's
# built-in evaluator stands in for it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || { echo "cargo (Rust stable) is required: install it with rustup" >&2; exit 1; }
# The helper links the system's OpenSSL (restore-config's PostgreSQL client).
if ! command -v pkg-config >/dev/null || ! pkg-config --exists openssl 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pkg-config libssl-dev >/dev/null
fi
cargo build --locked --release --quiet
out="${1:-$root/result-demo}"
for example in kubernetes baremetal; do
  printf '\n== %s (examples/%s.nix)\n' "$example" "$example"
  # The built-in evaluator reads the .nix declaration itself: no Nix needed.
  target/release/secure-mattermost render --config "examples/$example.nix" --out "$out/$example"
  ls -l "$out/$example"
done
