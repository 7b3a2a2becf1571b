"""`chsync spec new --sink-table` on the Distributed table an old job made on 3 shards x 2 replicas
(ClickHouse 18.16, the servers in a half-hour zone): the spec names the local table, the Distributed table
and its sharding key, and the server's zone as the days' (its DateTime columns have none of their own);
it passes `spec check`, and sync + verify then run on it unedited."""

from __future__ import annotations

import json
import os
import tomllib

import pytest
from conftest import drop_cluster_database

pytestmark = pytest.mark.cluster

PG = """
CREATE TABLE public.events (id bigint PRIMARY KEY, at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  kind text NOT NULL, n smallint);
INSERT INTO events SELECT i, '2026-01-20'::timestamptz + i * interval '37 minutes', now(), 'k' || (i % 3), i
  FROM generate_series(1, 60) i;
"""


def test_the_old_jobs_distributed_table_is_adopted(env, replica_cluster, tmp_path):
    with env.pg() as conn:
        conn.execute(PG)
    env.db = f"old_job_{os.getpid()}"
    env.cluster, env.cluster_name, env.backend = replica_cluster, "replicated", "cluster"
    client = replica_cluster.client()
    client.execute(f"CREATE DATABASE IF NOT EXISTS {env.db} ON CLUSTER replicated")
    client.execute(f"CREATE TABLE {env.db}.events ON CLUSTER replicated (id Int64, at DateTime, "
                   f"updated_at DateTime, kind String, n Nullable(Int32)) ENGINE = ReplicatedReplacingMergeTree("
                   f"'/clickhouse/tables/{{shard}}/{env.db}/events', '{{replica}}', updated_at) "
                   "PARTITION BY toYYYYMMDD(at) ORDER BY (id)")
    client.execute(f"CREATE TABLE {env.db}.events_all ON CLUSTER replicated AS {env.db}.events "
                   f"ENGINE = Distributed(replicated, {env.db}, events, cityHash64(id))")
    env.sink_url = replica_cluster.url(env.db, "replicated", extra="replicated=1")
    try:
        out = tmp_path / "events.toml"
        done = env.cli("spec", "new", "--from", "public.events", "--sink-table", f"{env.db}.events_all",
                       "-o", str(out))
        assert done.returncode == 0, done.stderr
        spec = tomllib.loads(out.read_text())
        assert spec["sink"] == {"database": env.db, "table": "events", "distributed_table": "events_all",
                                "sharding_key": "cityHash64(id)", "partition": "day", "order_by": ["id"]}
        # a DateTime without a zone reads days in the server's: the spec says so
        assert spec["table"]["day"] == "at" and spec["table"]["day_timezone"] == replica_cluster.timezone != "UTC"
        env.config = str(out)
        check = env.cli("spec", "check", "--json")
        assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout + check.stderr
        env.cli("sync", "--from", "2026-01-20", "--to", "2026-01-21", check=True)
        doc = env.cli_json("verify", "--from", "2026-01-20", "--to", "2026-01-21")
        assert doc["in_sync"] and doc["source"]["rows"] == doc["sink"]["rows"] == 60
    finally:
        drop_cluster_database(env)
