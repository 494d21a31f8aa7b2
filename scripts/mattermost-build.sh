#!/usr/bin/env bash
# Builds the Mattermost server pinned in catalog/mattermost-pin.json from its Go
# modules (no web client) into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/mattermost-<version>/
#     bin/mattermost  i18n/  templates/  fonts/
# The server finds i18n/templates/fonts by searching "..", "../.." ... relative to
# its own binary (and the working directory), so this layout needs no extra config.
# Idempotent: does nothing when bin/mattermost is already there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
# Never let go fetch a different toolchain behind our back.
export GOTOOLCHAIN=local

pinval() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$root/catalog/mattermost-pin.json" "$1"; }
version="$(pinval version)"
server="$(pinval serverModule)"; server_sum="$(pinval serverModuleSum)"
public="$(pinval publicModule)"; public_sum="$(pinval publicModuleSum)"

dest="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/mattermost-$version"
if [[ -x "$dest/bin/mattermost" ]]; then
  echo "mattermost $version already built: $dest/bin/mattermost"
  exit 0
fi

start=$SECONDS
# The checksum database mirror reachable here has no entry for the server/v8
# pseudo-version, so skip it for that one module and check the pinned h1: hash instead.
export GONOSUMDB="${server%@*}"

# module@version pinned-h1 -> the module's directory in the module cache
download() {
  go mod download -json "$1" | python3 -c '
import json, sys
mod, pinned = sys.argv[1:]
d = json.load(sys.stdin)
if d.get("Error"):
    sys.exit(d["Error"])
if d.get("Sum") != pinned:
    sys.exit("%s has hash %s, not the pinned %s" % (mod, d.get("Sum"), pinned))
print(d["Dir"])' "$1" "$2"
}

work="$(mktemp -d)"
stage="$dest.tmp.$$"
trap 'rm -rf "$work" "$stage"' EXIT
cd "$work"
go mod init secure-mattermost.invalid/mattermost-build >/dev/null 2>&1
server_dir="$(download "$server" "$server_sum")"
download "$public" "$public_sum" >/dev/null

# replace/exclude directives only apply in the main module, so the server's own
# ones must be carried over to get the dependency graph its release is built with.
python3 - "$server_dir/go.mod" <<'PY' | while read -r flag; do go mod edit "$flag"; done
import json, subprocess, sys
m = json.loads(subprocess.check_output(["go", "mod", "edit", "-json", sys.argv[1]]))
for r in m.get("Replace") or []:
    old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
    new = r["New"]["Path"] + ("@" + r["New"]["Version"] if r["New"].get("Version") else "")
    print(f"-replace={old}={new}")
for e in m.get("Exclude") or []:
    print(f"-exclude={e['Path']}@{e['Version']}")
PY
go mod edit -require="$server" -require="$public"

# The module proxy reachable here refuses these exact versions (HTTP 403). Only
# when that happens, substitute the nearest version it serves, and say so loudly.
#   msgpack: the server replaces it with Mattermost's fork (a decoder fix);
#            fallback is the upstream release that fork is based on.
#   msoleps: only used to extract text from legacy .doc uploads.
while read -r want edit; do
  if ! go mod download "$want" 2>/dev/null; then
    echo "WARNING: $want cannot be downloaded here; using go mod edit $edit" >&2
    go mod edit "$edit"
  fi
done <<'SUBST'
github.com/mattermost/msgpack/v5@v5.0.0-20260120151306-2f9c67d7e57f -replace=github.com/vmihailenco/msgpack/v5=github.com/vmihailenco/msgpack/v5@v5.4.1
github.com/richardlehane/msoleps@v1.0.5 -replace=github.com/richardlehane/msoleps@v1.0.5=github.com/richardlehane/msoleps@v1.0.4
SUBST

mkdir -p "$stage/bin"
# Tags/ldflags as for an upstream Team Edition release build. Not `go get`: it
# would try to resolve the closed-source enterprise imports behind other tags.
# -trimpath also keeps the module cache path (a search root the server would
# otherwise use for i18n/templates) out of the binary.
model=github.com/mattermost/mattermost/server/public/model
go build -mod=mod -trimpath -tags production \
  -ldflags "-X $model.BuildNumber=$version -X $model.BuildHash=$(pinval sourceCommit) -X $model.BuildDate=n/a -X $model.BuildEnterpriseReady=false" \
  -o "$stage/bin/mattermost" "${server%@*}/cmd/mattermost"
# Both pins must survive MVS unchanged, or this is not the release we pinned.
for m in "$server" "$public"; do
  got="$(go list -m -f '{{.Path}}@{{.Version}}' "${m%@*}")"
  [[ "$got" == "$m" ]] || { echo "MVS selected $got instead of $m" >&2; exit 1; }
done
for d in i18n templates fonts; do
  cp -r "$server_dir/$d" "$stage/$d"
done
chmod -R u+w "$stage"
cp go.mod go.sum "$stage/"
rm -rf "$dest"; mv "$stage" "$dest"
echo "built mattermost $version in $((SECONDS - start))s: $dest/bin/mattermost"
