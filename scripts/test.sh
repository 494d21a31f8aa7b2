#!/usr/bin/env bash
# The whole test suite on a fresh Debian box: installs what the tests need
# (PostgreSQL, nginx, openssl, Nix, the pinned Mattermost server built from
# its Go modules, cached), then runs `cargo test`. Tests that need nixpkgs'
# lib (not installable from any registry) say SKIPPED loudly when it is absent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
step() { printf '\n== %s\n' "$*"; }
timed() { local t=$SECONDS; "$@"; printf '   (%s: %ds)\n' "$1" $((SECONDS - t)); }

step "system packages"
need=()
command -v nix-instantiate >/dev/null || need+=(nix-bin)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
command -v openssl >/dev/null || need+=(openssl)
command -v cc >/dev/null || need+=(build-essential)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  timed apt-get update -qq
  timed apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo (Rust stable) is required: install it with rustup" >&2; exit 1; }

step "kubeconform (validates the operator custom resource offline)"
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
command -v kubeconform >/dev/null || GOTOOLCHAIN=local timed go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0

step "compliance-trestle (validates the OSCAL output)"
python3 -c 'import trestle.oscal.assessment_results' 2>/dev/null || timed python3 -m pip install -q compliance-trestle==5.2.0

step "Mattermost server for the end-to-end test"
timed bash scripts/mattermost-test-deps.sh

step "cargo test"
rm -f target/test-skips.log
status=0
timed cargo test --locked --no-fail-fast -- --test-threads=2 || status=$?
if [[ -s target/test-skips.log ]]; then
  printf '\n== skipped (see README: what needs nixpkgs lib or a server)\n'
  sort -u target/test-skips.log
fi
exit $status
