#!/usr/bin/env bash
# Builds the Pod Security checker (tools/podsecurity: the admission plugin's
# own checks from k8s.io/pod-security-admission, pinned in its go.mod/go.sum)
# into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/podsecurity-<hash>/podsecurity
# where <hash> covers the checker's sources, go.mod, go.sum, this script and
# the Go version. Modules come from the Go module proxy, checked against
# go.sum (-mod=readonly). Idempotent. The last stdout line is the binary's path.
#   --print-path (or --path)  only print that path; exit 3 if it has not been built
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

src="$root/tools/podsecurity"
hash="$(
  cd "$root"
  { go env GOVERSION
    sha256sum tools/podsecurity/*.go tools/podsecurity/go.mod tools/podsecurity/go.sum scripts/podsecurity-build.sh
  } | sha256sum | cut -c1-16
)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost"
dest="$cache/podsecurity-$hash"

case "${1:-}" in
  --print-path | --path)
    echo "$dest/podsecurity"
    [[ -x "$dest/podsecurity" ]] || exit 3
    exit 0
    ;;
  "") ;;
  *) echo "usage: $0 [--print-path]" >&2; exit 2 ;;
esac
if [[ -x "$dest/podsecurity" ]]; then
  echo "podsecurity already built: $dest/podsecurity"
  echo "$dest/podsecurity"
  exit 0
fi

start=$SECONDS
echo "building the Pod Security checker ($(go env GOVERSION), $(grep -E '^\s+k8s.io/pod-security-admission ' "$src/go.mod" | xargs))"
stage="$dest.tmp.$$"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"
(cd "$src" && go build -trimpath -buildvcs=false -o "$stage/podsecurity" .)
# Proof that it runs and judges: an empty pod is denied at restricted.
probe='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe"},"spec":{"containers":[{"name":"c","image":"i"}]}}'
rc=0
printf '%s\n' "$probe" | "$stage/podsecurity" - >/dev/null 2>&1 || rc=$?
if ((rc != 1)); then
  echo "the built checker did not deny an unhardened pod (exit $rc)" >&2
  exit 1
fi
cp "$src/go.mod" "$src/go.sum" "$stage/"
rm -rf "$dest"; mv "$stage" "$dest"
echo "built the Pod Security checker in $((SECONDS - start))s"
echo "$dest/podsecurity"
