#!/usr/bin/env bash
# What tests/firewall.rs needs: nftables (`nft`), iproute2 (`ip netns`),
# util-linux (`runuser`) and python3 (the listeners and probes), all from
# Debian; the distribution release pins their versions (bookworm: nftables
# 1.0.6). Also the `mattermost` system account whose uid the rendered
# ruleset's egress chain matches (`meta skuid`). Safe to run repeatedly:
# installs only what is missing and prints what it does.
set -euo pipefail

need=()
for tool in nft:nftables ip:iproute2 runuser:util-linux python3:python3; do
  command -v "${tool%%:*}" >/dev/null || [[ -x "/usr/sbin/${tool%%:*}" ]] || need+=("${tool#*:}")
done
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "firewall-deps: missing packages (${need[*]}); install them as root" >&2
    exit 1
  fi
  echo "firewall-deps: installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
nft_bin=$(command -v nft || echo /usr/sbin/nft)
echo "firewall-deps: $("$nft_bin" --version)"

if ! getent passwd mattermost >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "firewall-deps: no mattermost account; create it as root (useradd --system mattermost)" >&2
    exit 1
  fi
  echo "firewall-deps: creating the mattermost system account (no login, no home)"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group mattermost
fi
echo "firewall-deps: mattermost uid $(id -u mattermost)"
