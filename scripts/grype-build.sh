#!/usr/bin/env bash
# Builds the second vulnerability scanner and its offline database writer:
#   grype (pinned below, `go install github.com/anchore/grype/cmd/grype@VERSION`,
#   its own go.mod/go.sum from the Go module proxy) into
#     ${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/grype-<version>-<hash>/grype
#   tools/grypedb (grype's own db.Build over a directory of OSV entries,
#   pinned in tools/grypedb/go.mod/go.sum, -mod=readonly) into
#     ${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/grypedb-<hash>/grypedb
# Each <hash> covers the Go version and the build flags; grypedb's also covers
# its sources, go.mod and go.sum. Both are built with the same flags, so grypedb
# reuses grype's compiled packages. tools/grypedb/go.mod must require the same
# grype version (checked here), so the database it writes is the schema the
# scanner reads. grype v0.121.3 brings syft v1.57.1, the syft scripts/test.sh
# installs. Idempotent. The last two stdout lines are the two paths.
#   --print-path   only print the two paths (grype, then grypedb); exit 3 if
#                  either has not been built
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

version=v0.121.3
flags=(-trimpath -buildvcs=false)
src="$root/tools/grypedb"
goversion="$(go env GOVERSION)"
hash_of() { sha256sum | cut -c1-16; }
grype_hash="$(echo "$goversion $version ${flags[*]}" | hash_of)"
db_hash="$(cd "$root" && { echo "$goversion ${flags[*]}"; sha256sum tools/grypedb/*.go tools/grypedb/go.mod tools/grypedb/go.sum; } | hash_of)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost"
grype_dest="$cache/grype-$version-$grype_hash"
db_dest="$cache/grypedb-$db_hash"

case "${1:-}" in
  --print-path | --path)
    echo "$grype_dest/grype"
    echo "$db_dest/grypedb"
    [[ -x "$grype_dest/grype" && -x "$db_dest/grypedb" ]] || exit 3
    exit 0
    ;;
  "") ;;
  *) echo "usage: $0 [--print-path]" >&2; exit 2 ;;
esac

pinned="$(awk '$1 == "github.com/anchore/grype" { print $2 }' "$src/go.mod")"
if [[ "$pinned" != "$version" ]]; then
  echo "grype-build: tools/grypedb/go.mod requires grype '$pinned', this script builds $version: make them the same" >&2
  exit 1
fi

stages=()
trap 'for s in "${stages[@]}"; do rm -rf "$s"; done' EXIT

if [[ -x "$grype_dest/grype" ]]; then
  echo "grype $version already built: $grype_dest/grype"
else
  start=$SECONDS
  echo "building grype $version ($goversion, go install from the Go module proxy)"
  stage="$grype_dest.tmp.$$"
  stages+=("$stage")
  mkdir -p "$stage"
  GOBIN="$stage" GOFLAGS= go install "${flags[@]}" -ldflags "-X main.version=$version" "github.com/anchore/grype/cmd/grype@$version"
  got="$(GRYPE_CHECK_FOR_APP_UPDATE=false "$stage/grype" version 2>/dev/null | awk '$1 == "Version:" { print $2 }')"
  if [[ "$got" != "$version" ]]; then
    echo "grype-build: the built grype reports version '$got', expected $version" >&2
    exit 1
  fi
  syft="$(GRYPE_CHECK_FOR_APP_UPDATE=false "$stage/grype" version 2>/dev/null | awk '$1 == "Syft" { print $3 }')"
  rm -rf "$grype_dest"; mv "$stage" "$grype_dest"
  echo "built grype $version (syft $syft inside) in $((SECONDS - start))s"
fi

if [[ -x "$db_dest/grypedb" ]]; then
  echo "grypedb already built: $db_dest/grypedb"
else
  start=$SECONDS
  echo "building tools/grypedb ($goversion, grype $version's db.Build)"
  stage="$db_dest.tmp.$$"
  stages+=("$stage")
  mkdir -p "$stage"
  (cd "$src" && go build "${flags[@]}" -o "$stage/grypedb" .)
  # Proof that it refuses an empty database (exit 2) before it is used.
  probe="$stage/probe"
  mkdir -p "$probe/osv"
  rc=0
  "$stage/grypedb" build --osv "$probe/osv" --out "$probe/db" >/dev/null 2>&1 || rc=$?
  if ((rc != 2)); then
    echo "grype-build: the built grypedb did not refuse an empty OSV directory (exit $rc, expected 2)" >&2
    exit 1
  fi
  rm -rf "$probe"
  cp "$src/go.mod" "$src/go.sum" "$stage/"
  rm -rf "$db_dest"; mv "$stage" "$db_dest"
  echo "built grypedb in $((SECONDS - start))s"
fi
echo "$grype_dest/grype"
echo "$db_dest/grypedb"
