#!/usr/bin/env bash
# Regenerates catalog/mattermost-defaults.json from the pinned Mattermost
# `server/public` module (model.Config + SetDefaults). Never edit the output by hand.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"

pin="$root/catalog/mattermost-pin.json"
want="$(sed -n 's/.*"publicModule": *"[^@]*@\([^"]*\)".*/\1/p' "$pin")"
have="$(cd "$root/tools/mmdefaults" && go list -m -f '{{.Version}}' github.com/mattermost/mattermost/server/public)"
if [[ "$want" != "$have" ]]; then
  echo "tools/mmdefaults requires server/public $have but $pin pins $want" >&2
  exit 1
fi

out="$root/catalog/mattermost-defaults.json"
tmp="$(mktemp "$out.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# -mod=readonly: the committed go.sum must already cover everything.
(cd "$root/tools/mmdefaults" && go run -mod=readonly .) >"$tmp"
chmod 0644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out (server/public $have)"
