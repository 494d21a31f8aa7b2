#!/usr/bin/env bash
# The whole test suite on a fresh Debian box: installs what the tests need
# (PostgreSQL, nginx, openssl, Nix, the pinned Mattermost server built from
# its Go modules, cached), then runs `cargo test`. Tests that need nixpkgs'
# lib (not installable from any registry) say SKIPPED loudly when it is absent.
# Exits non-zero when any step or any test fails (.ci/run proves it with a
# shimmed cargo whose tests fail).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
step() { printf '\n== %s\n' "$*"; }
# Runs a command, prints how long it took, and returns the command's status.
timed() {
  local t=$SECONDS rc=0
  "$@" || rc=$?
  printf '   (%s: %ds, exit %d)\n' "$1" $((SECONDS - t)) "$rc"
  return "$rc"
}

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

step "differential oracle (server's own parsers)"
timed bash scripts/oracle-build.sh

step "cargo test"
mkdir -p target
rm -f target/test-skips.log
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
timed cargo test --locked --no-fail-fast -- --test-threads=2 2>&1 | tee "$log" || status=$?
# `cargo test` prints one "test result:" line per test binary; add them up.
# A test whose prerequisite is missing is reported by its runner as ignored
# (tests/common/harness.rs) and counted here as skipped, never as passed.
read -r passed failed ignored < <(awk '/^test result:/ {
    for (i = 1; i <= NF; i++) {
      if ($(i+1) ~ /^passed;?/) p += $i; if ($(i+1) ~ /^failed;?/) f += $i; if ($(i+1) ~ /^ignored;?/) g += $i
    }
  } END { print p + 0, f + 0, g + 0 }' "$log")
skipped=$ignored
if [[ -s target/test-skips.log ]]; then
  printf '\n== skipped (see README: what needs nixpkgs lib, a chart or a server)\n'
  sort -u target/test-skips.log
fi
if ((status == 0 && failed > 0)); then status=1; fi
printf '\ntests: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
exit "$status"
