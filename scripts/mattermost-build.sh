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

# The pin (version, server, public, ...), GOTOOLCHAIN=local, GONOSUMDB and the
# server's module set, shared with scripts/oracle-build.sh.
# shellcheck source=scripts/mattermost-modules.sh
source "$root/scripts/mattermost-modules.sh"

dest="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/mattermost-$version"
if [[ -x "$dest/bin/mattermost" ]]; then
  echo "mattermost $version already built: $dest/bin/mattermost"
  exit 0
fi

start=$SECONDS
work="$(mktemp -d)"
stage="$dest.tmp.$$"
trap 'rm -rf "$work" "$stage"' EXIT
cd "$work"
pinned_module_set secure-mattermost.invalid/mattermost-build

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
check_pins_selected
for d in i18n templates fonts; do
  cp -r "$server_dir/$d" "$stage/$d"
done
chmod -R u+w "$stage"
cp go.mod go.sum "$stage/"
rm -rf "$dest"; mv "$stage" "$dest"
echo "built mattermost $version in $((SECONDS - start))s: $dest/bin/mattermost"
