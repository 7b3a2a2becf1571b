"""chsync on a real sharded cluster (ClickHouse 18.16, 3 shards, ZooKeeper): the same results as on chDB."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from clickhouse_driver import Client
from conftest import cluster_spec, drop_cluster_database, on_cluster, seed_spec

from chsync.demo.generate import generate
from chsync.sink import open_sink

pytestmark = pytest.mark.cluster
RANGE = ("--from", "2026-01-18", "--to", "2026-01-23")
FULL = ("--from", "2026-01-01", "--to", "2026-02-18")

@pytest.fixture(params=["replicated", "plain"])
def cluster_env(request, env, tmp_path):
    """`env` (embedded Postgres) with its sink on the cluster in both layouts, a fresh database per test,
    filled with seed-shaped drifted data: Replicated tables on 3 shards x 2 replicas, as production runs
    them; plain tables (rand() sharding) on 3 shards x 1 (chsync writes plain tables only without
    replicas)."""
    cluster = request.getfixturevalue("replica_cluster" if request.param == "replicated" else "local_cluster")
    on_cluster(env, cluster, tmp_path, layout=request.param)
    with open_sink(env.sink_url, cluster_spec(env)) as sink:
        env.truth = generate(env.source, sink, scale=0.003, seed=5)
    yield env
    drop_cluster_database(env)


def _cli(env, *args, **kw):
    return env.cli(*args, **kw)


def _json(env, *args, expect=0):
    done = _cli(env, *args, "--json")
    assert done.returncode == expect, done.stderr
    return json.loads(done.stdout)


def test_scope_on_the_cluster_equals_the_ground_truth(cluster_env):
    scope = _json(cluster_env, "scope", *FULL)
    truth = cluster_env.truth
    for row in scope["days"]:
        assert {k: row[k] for k in truth["days"][row["day"]]} == truth["days"][row["day"]], row["day"]
    assert scope["stale_reasons"] == truth["stale_reasons"]
    assert scope["changed_columns"] == truth["changed_columns"]
    assert scope["sink_table"].endswith("conversation_with_labels_d")
    split = scope["sink"]["duplicates_by_placement"]
    assert split["same_shard"] + split["cross_shard"] == scope["sink"]["duplicate_keys"] > 0
    if cluster_env.layout == "plain":
        assert split["cross_shard"] > 0, "rand() sharding scatters an id's rows over shards"
    else:
        assert split["cross_shard"] == 0, "cityHash64 keeps an id's rows on one shard"


def test_diff_copied_into_chdb_equals_the_diff_hashed_on_both_servers(cluster_env):
    pull = _json(cluster_env, "diff", *FULL, "--limit", "100000", expect=1)
    assert pull["mode"]["mode"] == "pull" and "over HTTP" in pull["mode"]["why"]
    push = _json(cluster_env, "diff", *FULL, "--limit", "100000", "--mode", "push", expect=1)
    assert {k: v for k, v in pull.items() if k != "mode"} == {k: v for k, v in push.items() if k != "mode"}
    truth = cluster_env.truth
    assert pull["stale_reasons"] == truth["stale_reasons"] and pull["changed_columns"] == truth["changed_columns"]
    assert pull["classes"]["duplicates"] > 0  # the raw rows of every shard were copied, not one per id
    # Window by window (each copied, checked and compared on its own): the same document.
    done = cluster_env.cli("diff", *FULL, "--limit", "100000", "--json",
                           env={"CHSYNC_DIFF_WINDOW_ROWS": "400"})
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout) == pull


def test_diff_with_a_wrong_http_port_fails_in_one_line_without_the_password(cluster_env):
    cluster_env.sink_url = cluster_env.sink_url.replace(
        f"http_port={cluster_env.cluster.http_ports[0]}", f"http_port={cluster_env.cluster.tcp_ports[0]}")
    done = _cli(cluster_env, "diff", *RANGE, "--mode", "pull")
    assert done.returncode == 4, done.stderr
    port = cluster_env.cluster.tcp_ports[0]
    assert f"127.0.0.1:{port} does not answer over HTTP" in done.stderr
    assert "set http_port= in the sink URL" in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1
    assert cluster_env.cluster.password not in done.stderr + done.stdout and "Basic " not in done.stderr


def test_swap_backfill_on_the_cluster_ends_in_sync(cluster_env):
    plan = _json(cluster_env, "plan", *FULL, "--strategy", "swap", "--mode", "auto")
    assert plan["mode"] == "push" and "no postgresql() table function" in plan["mode_why"]  # 18.16
    pull = _cli(cluster_env, "plan", *FULL, "--mode", "pull")
    assert pull.returncode == 2 and "--mode pull needs the postgresql() table function" in pull.stderr
    result = _json(cluster_env, "backfill", *FULL, "--strategy", "swap", "--workers", "2", "--yes")
    assert result["verify"]["in_sync"] and result["verify"]["duplicate_keys"] == 0
    assert _cli(cluster_env, "verify", *FULL).returncode == 0
    nodes = [Client(h, port=p).execute(f"SELECT count() FROM {cluster_env.db}.conversation_with_labels")[0][0]
             for h, p in cluster_env.cluster.hosts]
    replicas = cluster_env.cluster.replicas
    shards = [nodes[i:i + replicas] for i in range(0, len(nodes), replicas)]
    source = _json(cluster_env, "verify", *FULL)["source"]["rows"]
    assert all(len(set(copies)) == 1 for copies in shards), f"replicas of a shard differ: {shards}"
    assert all(copies[0] > 0 for copies in shards) and sum(copies[0] for copies in shards) == source


@pytest.mark.parametrize("cluster_env, strategy", [
    ("replicated", "bulk"), ("replicated", "per-day"), ("replicated", "repair"),
    ("plain", "repair")], indirect=["cluster_env"])
def test_mutation_strategies_on_the_cluster(cluster_env, strategy):
    result = _json(cluster_env, "backfill", *RANGE, "--strategy", strategy, "--yes")
    assert result["verify"]["in_sync"] and result["verify"]["duplicate_keys"] == 0


def _checked_days(env) -> int:
    client = Client("127.0.0.1", port=env.cluster.tcp_ports[0])
    try:
        return client.execute(f"SELECT count() FROM {env.db}.chsync_journal WHERE state = 'checked'")[0][0]
    except Exception:
        return 0


@pytest.mark.parametrize("cluster_env", ["replicated"], indirect=True)
def test_shard_killed_mid_backfill_then_resume(cluster_env):
    import os
    env = {**os.environ, "CHSYNC_SOURCE": cluster_env.source, "CHSYNC_SINK": cluster_env.sink_url}
    proc = subprocess.Popen([*cluster_env.argv("backfill"), *FULL,
                             "--strategy", "swap", "--yes"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + 120
    while _checked_days(cluster_env) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    cluster_env.cluster.kill_shard(1)
    try:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 4, err
        port = cluster_env.cluster.tcp_ports[1]
        assert f"127.0.0.1:{port}" in err, err
        done = _checked_days(cluster_env)
        assert 3 <= done < 49
    finally:
        cluster_env.cluster.start_shard(1)
    resumed = _json(cluster_env, "backfill", "--resume", "last", "--yes")
    assert resumed["verify"]["in_sync"] is True
    assert len([d for d in resumed["days"] if d["action"] != "skip"]) <= 49 - done + 1


@pytest.mark.parametrize("cluster_env", ["replicated"], indirect=True)
def test_zookeeper_restart_mid_run_recovers_or_fails_cleanly(cluster_env):
    cluster_env.cluster.restart_zookeeper()
    first = _cli(cluster_env, "backfill", *RANGE, "--strategy", "swap", "--yes")
    if first.returncode != 0:
        assert first.returncode == 4 and first.stderr.count("chsync: error:") == 1, first.stderr
        time.sleep(5)
        again = _cli(cluster_env, "backfill", "--resume", "last", "--yes")
        assert again.returncode == 0, again.stderr
    assert _cli(cluster_env, "verify", *RANGE).returncode == 0


def test_daily_sync_on_the_cluster_is_idempotent(cluster_env):
    for _ in range(2):
        done = _cli(cluster_env, "sync", *RANGE)
        assert done.returncode == 0, done.stderr
    doc = _json(cluster_env, "verify", *RANGE)
    assert doc["in_sync"] and doc["sink"]["duplicate_keys"] == 0
    assert doc["sink"]["rows"] == doc["source"]["rows"]


@pytest.mark.parametrize("cluster_env", ["replicated"], indirect=True)
def test_a_stuck_mutation_times_out_with_its_name(cluster_env):
    from chsync.apply.barrier import wait_for_mutations
    from chsync.errors import RuntimeFailure
    with open_sink(cluster_env.sink_url, seed_spec()) as sink:
        # fails at run time on every shard and then stays is_done = 0 forever (seen on 18.16)
        sink.execute(f"ALTER TABLE {sink.table} ON CLUSTER replicated UPDATE usecase_id = "
                     f"toString(toUInt8(customer_id)) WHERE 1")
        with pytest.raises(RuntimeFailure) as failed:
            wait_for_mutations(sink, timeout=3, poll=0.5)
    message = str(failed.value)
    assert "mutation" in message and "is not done after 3s" in message and "toUInt8" in message
