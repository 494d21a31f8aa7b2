#!/usr/bin/env bash
# Installs the tools benches/run.sh compares against, pinned:
#   hyperfine 1.20.0   (crates.io; 2.x needs a newer rustc)  -> ~/.cargo/bin or the cache below
#   deadnix 1.3.1      (crates.io; the Nix linter, rnix-based) -> the cache below
#   conftest v0.71.1   (Go module github.com/open-policy-agent/conftest) -> ~/go/bin
# Cargo-installed tools go to ${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/bench-tools/bin
# unless the exact version is already on PATH. Idempotent: a second run only
# checks versions (seconds). Prints what it does; exits non-zero on failure.
#   --print-path  only print the directories to put on PATH (exit 3 if a tool is missing)
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin:$HOME/.cargo/bin"
export GOTOOLCHAIN=local

HYPERFINE=1.20.0
DEADNIX=1.3.1
CONFTEST=v0.71.1

cache="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/bench-tools"
gobin="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
export PATH="$cache/bin:$PATH"

# version_of TOOL: the first x.y.z in `TOOL --version`, or nothing.
version_of() { "$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true; }
have() { [[ "$(version_of "$1")" == "${2#v}" ]]; }
# go-installed binaries carry their module version in the build info, not in --version.
have_go() { # binary module version
  local b; b="$(command -v "$1")" || return 1
  go version -m "$b" 2>/dev/null | awk '$1 == "mod" { print $2, $3 }' | grep -qx "$2 $3"
}

case "${1:-}" in
  --print-path | --path)
    echo "$cache/bin:$gobin"
    have hyperfine "$HYPERFINE" && have deadnix "$DEADNIX" && have_go conftest github.com/open-policy-agent/conftest "$CONFTEST" || exit 3
    exit 0
    ;;
  "") ;;
  *) echo "usage: $0 [--print-path]" >&2; exit 2 ;;
esac

command -v cargo >/dev/null || { echo "cargo is required (rustup)" >&2; exit 1; }
command -v go >/dev/null || { echo "go is required (/usr/local/go/bin)" >&2; exit 1; }

cargo_tool() { # name version
  local t=$SECONDS
  if have "$1" "$2"; then
    echo "$1 $2 already installed: $(command -v "$1")"
    return
  fi
  echo "installing $1 $2 (cargo install --locked) into $cache"
  cargo install -q --locked --root "$cache" "$1@$2"
  have "$1" "$2" || { echo "$1 $2 did not install" >&2; exit 1; }
  echo "installed $1 $2 in $((SECONDS - t))s: $(command -v "$1")"
}

cargo_tool hyperfine "$HYPERFINE"
cargo_tool deadnix "$DEADNIX"

t=$SECONDS
if have_go conftest github.com/open-policy-agent/conftest "$CONFTEST"; then
  echo "conftest $CONFTEST already installed: $(command -v conftest)"
else
  echo "building conftest $CONFTEST ($(go env GOVERSION), go install from the module proxy) into $gobin"
  go install "github.com/open-policy-agent/conftest@$CONFTEST"
  have_go conftest github.com/open-policy-agent/conftest "$CONFTEST" || { echo "conftest $CONFTEST did not install" >&2; exit 1; }
  echo "built conftest $CONFTEST in $((SECONDS - t))s: $(command -v conftest)"
fi
