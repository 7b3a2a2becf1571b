#!/usr/bin/env bash
# Debian's ClickHouse (18.16) and ZooKeeper for the local 3-shard cluster tests. Idempotent.
set -euo pipefail
if [ -x /usr/sbin/clickhouse-server ] && [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-cluster: needs root for apt-get" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  clickhouse-server clickhouse-client zookeeper >/dev/null
