#!/usr/bin/env bash
# Everything tests/real_mattermost.rs needs: PostgreSQL, openssl, curl,
# util-linux (runuser, unshare, nsenter), iproute2, and the pinned Mattermost
# server built by scripts/mattermost-build.sh. Safe to run repeatedly.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
for tool in openssl curl runuser:util-linux nsenter:util-linux unshare:util-linux ip:iproute2 python3; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing packages (${need[*]}); install them as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian package starts a default cluster; the test runs its own.
exec "$root/scripts/mattermost-build.sh"
