#!/usr/bin/env bash
# Builds tools/operator-deployment (prints the Deployment, Service, Ingress and
# update Job that mattermost-operator's own code generates from a Mattermost
# resource) against the operator checkout named by SECURE_MATTERMOST_OPERATOR_SRC
# into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost/operator-deployment-<hash>/operator-deployment
# where <hash> covers the tool's sources, go.mod, go.sum, this script, the Go
# version and the operator source (its git commit, plus a hash of the diff when
# the checkout is modified; without git, a hash of its go.mod, go.sum, apis/ and
# pkg/). The operator is someone else's code: it is never copied into the
# repository; a `replace` directive pointing at the checkout is added to a
# temporary copy of the tool's go.mod. Every other module comes from the Go
# module proxy, checked against go.sum (-mod=readonly); an operator commit that
# needs modules go.sum lacks gets them resolved (and checked against the
# checksum database) in the temporary copy, and says so. Idempotent. The last
# stdout line is the binary's path.
#   --print-path (or --path)  only print that path; exit 3 if it has not been built
# Exit codes: 0 built or already built, 1 build failed, 2 usage or
# SECURE_MATTERMOST_OPERATOR_SRC unset or not an operator checkout, 3 (with
# --print-path) not built yet.
# Tested with mattermost-operator v1.25.9 (commit 07a736bbb8d6c1e8cf76bdc935d1f08c47307a69).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

mode=build
case "${1:-}" in
  --print-path | --path) mode=print ;;
  "") ;;
  *) echo "usage: $0 [--print-path]" >&2; exit 2 ;;
esac

op="${SECURE_MATTERMOST_OPERATOR_SRC:-}"
if [[ -z "$op" ]]; then
  echo "SECURE_MATTERMOST_OPERATOR_SRC is not set: point it at a checkout of the mattermost-operator repository (tested with v1.25.9, commit 07a736bbb8d6c1e8cf76bdc935d1f08c47307a69)" >&2
  exit 2
fi
if [[ ! -d "$op" ]]; then
  echo "SECURE_MATTERMOST_OPERATOR_SRC=$op is not a directory" >&2
  exit 2
fi
op="$(cd "$op" && pwd -P)"
if ! grep -qE '^module github\.com/mattermost/mattermost-operator$' "$op/go.mod" 2>/dev/null ||
  [[ ! -d "$op/pkg/mattermost" || ! -d "$op/apis/mattermost/v1beta1" ]]; then
  echo "SECURE_MATTERMOST_OPERATOR_SRC=$op is not a mattermost-operator checkout (needs go.mod of module github.com/mattermost/mattermost-operator, pkg/mattermost and apis/mattermost/v1beta1)" >&2
  exit 2
fi

# What identifies the operator source: the commit when $op is the top of a git
# work tree (a modified tree adds a hash of its diff), else a content hash.
gitop() { git -c safe.directory='*' -C "$op" "$@"; }
if top="$(gitop rev-parse --show-toplevel 2>/dev/null)" && [[ "$(cd "$top" && pwd -P)" == "$op" ]]; then
  opid="commit=$(gitop rev-parse HEAD)"
  desc="$(gitop describe --tags --always 2>/dev/null || true)"
  [[ -n "$desc" ]] && opid="$opid,describe=$desc"
  if [[ -n "$(gitop status --porcelain --untracked-files=no)" ]]; then
    opid="$opid,modified=$(gitop diff HEAD | sha256sum | cut -c1-16)"
  fi
else
  opid="content=$(
    cd "$op"
    find go.mod go.sum apis pkg -type f 2>/dev/null | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -c1-16
  )"
fi

src="$root/tools/operator-deployment"
hash="$(
  cd "$root"
  { go env GOVERSION
    echo "$opid"
    sha256sum tools/operator-deployment/*.go tools/operator-deployment/go.mod tools/operator-deployment/go.sum scripts/operator-deployment-build.sh
  } | sha256sum | cut -c1-16
)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/secure-mattermost"
dest="$cache/operator-deployment-$hash"

if [[ "$mode" == print ]]; then
  echo "$dest/operator-deployment"
  [[ -x "$dest/operator-deployment" ]] || exit 3
  exit 0
fi
if [[ -x "$dest/operator-deployment" ]]; then
  echo "operator-deployment already built ($opid): $dest/operator-deployment"
  echo "$dest/operator-deployment"
  exit 0
fi

start=$SECONDS
echo "building operator-deployment ($(go env GOVERSION)) against mattermost-operator at $op ($opid)"
mkdir -p "$cache"
stage="$dest.tmp.$$"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/src"
cp "$src"/*.go "$src/go.mod" "$src/go.sum" "$stage/src/"
(
  cd "$stage/src"
  go mod edit -replace="github.com/mattermost/mattermost-operator=$op"
  build() { go build -trimpath -buildvcs=false -ldflags "-X main.operatorSource=$opid" -o "$stage/operator-deployment" .; }
  if ! build 2>"$stage/build.err"; then
    if grep -qE 'missing go.sum entry|updates to go.mod needed' "$stage/build.err"; then
      echo "this operator source needs modules that tools/operator-deployment/go.sum does not pin; resolving them from the Go module proxy (checked against the checksum database) in the temporary copy"
      GOFLAGS=-mod=mod go mod tidy
      build
    else
      cat "$stage/build.err" >&2
      echo "building operator-deployment failed" >&2
      exit 1
    fi
  fi
)

# Proof that it runs the operator's code: a minimal resource yields the
# operator's Deployment (container "mattermost", the DB Secret's key), and a
# resource the operator's types do not know is refused.
probe='apiVersion: installation.mattermost.com/v1beta1
kind: Mattermost
metadata: {name: probe, namespace: probe}
spec:
  ingress: {enabled: false}
  database: {external: {secret: probe-db}}
  fileStore: {external: {url: s3.probe.invalid, bucket: probe, secret: probe-s3}}'
out="$(printf '%s\n' "$probe" | "$stage/operator-deployment" -)" || {
  echo "the built tool failed on a minimal Mattermost resource" >&2
  exit 1
}
if ! grep -q '^kind: Deployment$' <<<"$out" || ! grep -q 'key: DB_CONNECTION_STRING' <<<"$out" ||
  ! grep -qE '^ +name: mattermost$' <<<"$out"; then
  echo "the built tool's output on a minimal resource is not the operator's Deployment" >&2
  exit 1
fi
rc=0
printf '%s\n  bogusField: 1\n' "$probe" | "$stage/operator-deployment" - >/dev/null 2>&1 || rc=$?
if ((rc != 2)); then
  echo "the built tool did not refuse an unknown field (exit $rc)" >&2
  exit 1
fi

printf '%s\n%s\n' "$op" "$opid" >"$stage/operator-source"
cp "$stage/src/go.mod" "$stage/src/go.sum" "$stage/"
rm -rf "$stage/src" "$stage/build.err"
rm -rf "$dest"; mv "$stage" "$dest"
echo "built operator-deployment in $((SECONDS - start))s"
echo "$dest/operator-deployment"
