# Sourced (not run) by scripts that build Go code against the module set of the
# Mattermost server release pinned in catalog/mattermost-pin.json.
# Needs $root (the repository) set; sets version/server/server_sum/public/public_sum.
# shellcheck shell=bash

pinval() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$root/catalog/mattermost-pin.json" "$1"; }
version="$(pinval version)"
server="$(pinval serverModule)"; server_sum="$(pinval serverModuleSum)"
public="$(pinval publicModule)"; public_sum="$(pinval publicModuleSum)"

# Never let go fetch a different toolchain behind our back.
export GOTOOLCHAIN=local
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

# In the current (empty) directory: a main module named $1 that requires both
# pinned modules with the server's own replace/exclude directives. Sets server_dir.
pinned_module_set() {
  go mod init "$1" >/dev/null 2>&1
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
}

# After a build: both pins must survive MVS unchanged, or this is not the release we pinned.
check_pins_selected() {
  local m got
  for m in "$server" "$public" "$@"; do
    got="$(go list -m -f '{{.Path}}@{{.Version}}' "${m%@*}")"
    [[ "$got" == "$m" ]] || { echo "MVS selected $got instead of $m" >&2; return 1; }
  done
}
