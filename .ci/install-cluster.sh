#!/usr/bin/env bash
# Debian's ClickHouse (18.16) and ZooKeeper (3.8) for the local 3-shard cluster tests
# (chsync/testing/cluster.py). Idempotent: returns at once when they are installed. Nothing auto-starts.
set -euo pipefail
PACKAGES=(clickhouse-server clickhouse-client zookeeper)

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "install-cluster: no apt-get; install ${missing[*]} (ClickHouse 18.16, ZooKeeper 3.8) by hand" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-cluster: needs root for apt-get (missing: ${missing[*]})" >&2
  exit 1
fi
echo "install-cluster: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
