#!/usr/bin/env bash
# Builds the differential oracle (tools/oracle) against the module set of the
# Mattermost server pinned in catalog/mattermost-pin.json -- same replace and
# substitution handling as scripts/mattermost-build.sh (scripts/mattermost-modules.sh) --
# into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/oracle-<hash>/oracle
# where <hash> covers the oracle's sources, this script, the module-set
# functions, the pin and the Go version. Idempotent. The last stdout line is
# the binary's path.
#   --path   only print that path; exit 3 if it has not been built
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
# shellcheck source=scripts/mattermost-modules.sh
source "$root/scripts/mattermost-modules.sh"

hash="$(
  cd "$root"
  { go env GOVERSION
    sha256sum tools/oracle/*.go scripts/oracle-build.sh scripts/mattermost-modules.sh catalog/mattermost-pin.json
  } | sha256sum | cut -c1-16
)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost"
dest="$cache/oracle-$hash"

if [[ "${1:-}" == "--path" ]]; then
  echo "$dest/oracle"
  [[ -x "$dest/oracle" ]] || exit 3
  exit 0
fi
if [[ -x "$dest/oracle" ]]; then
  echo "oracle already built: $dest/oracle"
  echo "$dest/oracle"
  exit 0
fi

start=$SECONDS
work="$(mktemp -d)"
stage="$dest.tmp.$$"
trap 'rm -rf "$work" "$stage"' EXIT
cd "$work"
pinned_module_set secure-mattermost.invalid/oracle
cp "$root"/tools/oracle/*.go .
mkdir -p "$stage"
# -mod=mod: lib/pq and the rest resolve to the versions already in the
# server's graph (nothing newer is fetched); checked below.
go build -mod=mod -trimpath -o "$stage/oracle" .
check_pins_selected github.com/lib/pq@v1.10.9
cp go.mod go.sum "$stage/"
rm -rf "$dest"; mv "$stage" "$dest"
echo "built the oracle in $((SECONDS - start))s"
echo "$dest/oracle"
