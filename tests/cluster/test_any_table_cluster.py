"""The example spec (examples/shop_orders.toml) end to end on the 3-shard ClickHouse 18.16 cluster, as
tests/test_any_table.py runs it on chDB: generate, scope equals the generator's ground truth (every day,
stale reason and changed column; hashed on both servers and copied into chDB), then each backfill strategy
repairs its own part of the range, and verify finds every day in sync with each order once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import drop_cluster_database

pytestmark = pytest.mark.cluster
EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "shop_orders.toml"
DAY_FIELDS = ("source", "sink_rows", "sink_distinct", "duplicates", "missing", "stale", "changed")
# One generated world, its 14 days shared out: every strategy has drift of its own to repair.
PARTS = {"swap": (0, 3), "repair": (3, 5), "bulk": (5, 8), "per-day": (8, 14)}


@pytest.fixture
def shop(env, replica_cluster, tmp_path):
    """The example table on 3 shards x 2 replicas, as production runs a Replicated table."""
    env.db = f"chsync_shop_{os.getpid()}"
    env.sink_url = replica_cluster.url(env.db, "replicated", extra="replicated=1")
    env.cluster, env.cluster_name, env.backend = replica_cluster, "replicated", "cluster"
    env.config = str(EXAMPLE)
    truth = tmp_path / "truth.json"
    env.cli("generate", "--scale", "0.005", "--seed", "3", "--truth", str(truth), check=True)
    env.truth = json.loads(truth.read_text())
    yield env
    drop_cluster_database(env)


def test_example_spec_scope_every_strategy_and_verify_on_the_cluster(shop):
    truth = shop.truth
    whole = ("--from", truth["from"], "--to", truth["to"])
    for mode in ("push", "pull"):
        doc = shop.cli_json("scope", *whole, "--mode", mode)
        assert {d["day"]: {k: d[k] for k in DAY_FIELDS} for d in doc["days"]} == truth["days"], mode
        assert doc["stale_reasons"] == truth["stale_reasons"], mode
        assert doc["changed_columns"] == {c: n for c, n in truth["changed_columns"].items() if n}, mode
    days = sorted(truth["days"])
    assert len(days) == 14
    for strategy, (lo, hi) in PARTS.items():
        part = days[lo:hi]
        drift = [truth["days"][d] for d in part]
        assert any(d["missing"] or d["stale"] or d["changed"] or d["duplicates"] for d in drift), strategy
        result = shop.cli_json("backfill", "--from", part[0], "--to", part[-1], "--strategy", strategy, "--yes")
        assert result["verify"]["in_sync"] and result["verify"]["duplicate_keys"] == 0, strategy
    doc = shop.cli_json("verify", *whole)
    assert doc["in_sync"] and doc["sink"]["duplicate_keys"] == 0
    assert doc["sink"]["rows"] == doc["sink"]["distinct"] == doc["source"]["rows"] == truth["totals"]["source"]
    nodes = [c.execute(f"SELECT count() FROM {shop.db}.delivered_orders")[0][0]
             for c in (shop.cluster.client(i) for i in range(shop.cluster.node_count))]
    shards = [nodes[i:i + shop.cluster.replicas] for i in range(0, len(nodes), shop.cluster.replicas)]
    assert all(len(set(copies)) == 1 for copies in shards), f"replicas of a shard differ: {shards}"
    assert all(c[0] for c in shards) and sum(c[0] for c in shards) == truth["totals"]["source"]
