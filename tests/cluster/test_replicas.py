"""Replicated clusters as production runs them: 3 shards x 2 replicas (ClickHouse 18.16, ZooKeeper,
internal_replication = true, the seed's ReplicatedReplacingMergeTree). Every write path ends with every
replica of every shard holding exactly the shard's rows; a replica that differs from its peer is named by
verify and healed by the daily job; one that does not take a write is named, not waited for forever."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from builders import Paused, assert_sink_equals_source, journal_of_last_run, replica_day_ids, source_ids
from clickhouse_driver import Client
from conftest import cluster_spec, drop_cluster_database, on_cluster

from chsync.demo.generate import generate
from chsync.sink import open_sink

pytestmark = pytest.mark.cluster
FIRST, LAST = dt.date(2026, 1, 18), dt.date(2026, 1, 23)
RANGE = ("--from", FIRST.isoformat(), "--to", LAST.isoformat())
DAYS = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
DAY = "2026-01-21"
SHORT = "replica_timeout=5"


@pytest.fixture
def drifted(env, replica_cluster, tmp_path):
    """Seed-shaped drifted data on 3 shards x 2 replicas, the URL as a user writes it (plus a short
    replica_timeout, so that a test of a replica that does not catch up takes seconds)."""
    on_cluster(env, replica_cluster, tmp_path, extra=SHORT)
    with open_sink(env.sink_url, cluster_spec(env)) as sink:
        env.truth = generate(env.source, sink, scale=0.003, seed=5)
    yield env
    for node in range(replica_cluster.node_count):
        replica_cluster.client(node).execute("SYSTEM START FETCHES")
    drop_cluster_database(env)


def _sink(env):
    return open_sink(env.sink_url, cluster_spec(env))


def assert_every_replica_equals_postgres(env, days=DAYS) -> None:
    with env.pg() as conn, _sink(env) as sink:
        assert sink.capabilities.replicas == 2 and sink.capabilities.replicated
        assert_sink_equals_source(conn, sink, days)
        for day in days:      # each shard's replicas agree (above); together they hold the source set once
            held = [ids for replicas in replica_day_ids(sink, day).values() for ids in list(replicas.values())[:1]]
            assert sorted(i for ids in held for i in ids) == sorted(source_ids(conn, day)), day


def _node(env, shard: int, replica: int) -> Client:
    return env.cluster.client(shard * env.cluster.replicas + replica)


@pytest.mark.parametrize("strategy", ["swap", "per-day", "repair", "bulk"])
def test_every_strategy_leaves_every_replica_equal_to_postgres(drifted, strategy):
    done = drifted.cli_json("backfill", *RANGE, "--strategy", strategy, "--yes")
    assert done["verify"]["in_sync"] and done["verify"]["duplicate_keys"] == 0
    assert_every_replica_equals_postgres(drifted)
    verify = drifted.cli_json("verify", *RANGE)
    assert verify["in_sync"] and verify["replicas"] == {"differing": []}


def test_the_daily_sync_three_times_on_a_fresh_cluster_is_exact(drifted):
    """What went live with whole shards emptied before: staging written to one replica, swapped from the
    other."""
    for _ in range(3):
        done = drifted.cli_json("sync", "--day", DAY)
        assert [d["day"] for d in done["days"]] == [DAY] and done["refused"] == []
        assert_every_replica_equals_postgres(drifted, [dt.date.fromisoformat(DAY)])


def test_lookback_heals_every_drifted_day_on_every_replica(drifted):
    done = drifted.cli_json("sync", "--day", LAST.isoformat(), "--lookback", str(len(DAYS) - 1))
    assert sorted(done["drifted"]) == [d.isoformat() for d in DAYS[:-1]]
    assert_every_replica_equals_postgres(drifted)


def test_a_replica_that_differs_from_its_peer_is_named_then_healed(drifted):
    drifted.cli_json("backfill", *RANGE, "--strategy", "swap", "--yes")
    table = f"{drifted.db}.conversation_with_labels"
    lagging = _node(drifted, 1, 1)
    lagging.execute(f"SYSTEM STOP FETCHES {table}")
    # an old job re-writes shard 2's rows of the day with another agent on its first replica (a newer
    # version: merges keep it); the second replica never gets them
    with _sink(drifted) as sink:
        columns = ", ".join({"agent_user_id": "'agent-x'", "updated_at": "updated_at + 1"}.get(c, c)
                            for c in sink.spec.names)
    _node(drifted, 1, 0).execute(f"INSERT INTO {table} SELECT {columns} FROM {table} "
                                 f"WHERE toDate(ended_at) = '{DAY}'")
    port = drifted.cluster.tcp_ports[1 * drifted.cluster.replicas + 1]

    doc = drifted.cli_json("verify", *RANGE, expect=1)
    differing = doc["replicas"]["differing"]
    assert [(r["day"], r["shard"], r["replica"]) for r in differing] == [(DAY, 2, f"127.0.0.1:{port}")]
    assert [d["day"] for d in doc["days"] if not d["in_sync"]] == [DAY]
    text = drifted.cli("verify", *RANGE)
    assert text.returncode == 1 and f"replica 127.0.0.1:{port} of shard 2" in text.stdout

    heal = ("sync", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--only-drifted")
    started = time.monotonic()
    # the swap is taken by the first replica; the second cannot fetch it, unless the staging's rows went to
    # the second replica itself (Distributed picks one per block): then it replaces from its own parts
    stuck = drifted.cli(*heal)
    assert stuck.returncode in (0, 4) and time.monotonic() - started < 60, stuck.stderr
    if stuck.returncode == 4:
        assert f"{DAY}: replica 127.0.0.1:{port} of shard 2 has not caught up" in stuck.stderr

    lagging.execute(f"SYSTEM START FETCHES {table}")
    # the swap already taken reaches the replica now, or is taken again; replication may take longer than
    # the short timeout the stuck run was given
    patient = {"CHSYNC_SINK": drifted.sink_url.replace(SHORT, "replica_timeout=90")}
    done = drifted.cli(*heal, "--json", env=patient)
    assert done.returncode == 0, done.stderr
    healed = json.loads(done.stdout)
    assert healed["drifted"] in ([], [DAY]) and healed["left"] == [] and healed["refused"] == [], healed
    assert_every_replica_equals_postgres(drifted)
    assert drifted.cli_json("verify", *RANGE)["replicas"] == {"differing": []}


def test_a_replica_that_takes_no_write_is_named_within_the_replica_timeout(drifted):
    lagging = _node(drifted, 2, 1)
    port = drifted.cluster.tcp_ports[2 * drifted.cluster.replicas + 1]
    drifted.cli_json("sync", "--day", DAY)     # the job ran before: its journal tables exist
    lagging.execute("SYSTEM STOP FETCHES")     # (it stops the tables that exist now)
    started = time.monotonic()
    done = drifted.cli("sync", "--day", DAY)
    assert done.returncode == 4, done.stderr
    assert time.monotonic() - started < 60
    lines = [line for line in done.stderr.splitlines() if line.startswith("chsync: error")]
    assert len(lines) == 1 and f"replica 127.0.0.1:{port} of shard 3" in lines[0], done.stderr
    lagging.execute("SYSTEM START FETCHES")
    assert drifted.cli_json("sync", "--day", DAY)["days"][0]["day"] == DAY
    assert_every_replica_equals_postgres(drifted, [dt.date.fromisoformat(DAY)])


def test_a_reader_through_distributed_sees_each_shard_old_or_new(drifted):
    """18.16 has no REPLACE PARTITION ON CLUSTER: the shards are swapped one after another, so a reader may
    see shard 1 new and shard 2 still old; never a shard emptied or doubled, whichever replica it reads."""
    per_shard = (f"SELECT cityHash64(toString(conversation_id)) % 3 AS s, count() FROM "
                 f"{drifted.db}.conversation_with_labels_d WHERE toDate(ended_at) = '{DAY}' GROUP BY s")
    client = drifted.cluster.client(3)
    old = dict(client.execute(per_shard))
    seen: list[dict] = []
    stop = threading.Event()

    def poll():
        reader = drifted.cluster.client(3)
        while not stop.is_set():
            seen.append(dict(reader.execute(per_shard)))

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        for _ in range(3):
            assert drifted.cli("sync", "--day", DAY).returncode == 0
    finally:
        stop.set()
        thread.join()
    new = dict(client.execute(per_shard))
    assert old != new and len(seen) > 10
    for shard in range(3):
        assert {s.get(shard, 0) for s in seen} <= {old.get(shard, 0), new.get(shard, 0)}, shard


def test_a_plain_table_on_replicas_is_refused_and_nothing_is_written(env, replica_cluster, tmp_path):
    on_cluster(env, replica_cluster, tmp_path, layout="plain")
    with _sink(env) as sink:
        generate(env.source, sink, scale=0.003, seed=5)
        before = sink.rows(f"SELECT count() FROM {sink.read_table}")
        tables = sink.rows(f"SELECT name FROM system.tables WHERE database = '{sink.db}' ORDER BY name")
    done = env.cli("sync", "--day", DAY)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not Replicated" in lines[0] and "2 replicas per shard" in lines[0], done.stderr
    with _sink(env) as sink:
        assert sink.rows(f"SELECT count() FROM {sink.read_table}") == before
        assert sink.rows(f"SELECT name FROM system.tables WHERE database = '{sink.db}' ORDER BY name") == tables
    drop_cluster_database(env)


def test_the_journal_is_seen_from_every_replica(drifted):
    run = drifted.cli_json("backfill", *RANGE, "--strategy", "swap", "--yes")["run"]
    for node in range(drifted.cluster.node_count):
        url = drifted.cluster.url(drifted.db, "replicated", shard=node, extra="replicated=1")
        runs = json.loads(drifted.cli("runs", "--json", env={"CHSYNC_SINK": url}, check=True).stdout)["runs"]
        assert [(r["run"], r["state"]) for r in runs] == [(run, "finished")], node


def test_a_replica_stopped_during_a_swap_is_named_and_resume_finishes_the_day(drifted, tmp_path):
    cluster = drifted.cluster
    stopped = 0 * cluster.replicas + 1                      # the second replica of shard 1
    paused = Paused(drifted.argv("backfill", *RANGE, "--strategy", "swap", "--yes", "--workers", "1"),
                    drifted.environ(), f"verified:{DAY}", tmp_path / "fault")
    cluster.kill_shard(stopped)                             # the staging is proven; the swap is next
    try:
        paused.go()
        done = paused.wait()
        assert done.returncode == 4, done.stderr
        error = [line for line in done.stderr.splitlines() if line.startswith("chsync: error")]
        assert len(error) == 1 and f"{DAY}: replica 127.0.0.1:{cluster.tcp_ports[stopped]} of shard 1" in error[0]
        run, meta, states = journal_of_last_run(drifted)
        assert states[DAY] == "failed" and all(states[d] in ("checked", "skipped") for d in states if d < DAY)
    finally:
        cluster.start_shard(stopped)
    done = drifted.cli_json("backfill", "--resume", "last", "--take-over", "--yes")
    assert done["run"] == run and done["state"] == "finished" and done["verify"]["in_sync"]
    assert_every_replica_equals_postgres(drifted)
