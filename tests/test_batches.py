"""A day larger than a batch (`--batch-rows`): read and staged in several inserts into one staging table,
then checked and swapped as one partition, so readers see the old day until the swap, never a part of the
new one; a real `kill -9` between two batches leaves the live day as it was, and `--resume` ends exact.
On chDB, the 3-shard cluster and 3 shards x 2 replicas."""

from __future__ import annotations

import datetime as dt

from builders import Paused, World, assert_sink_equals_source, journal_of_last_run, staging_tables

DAY = dt.date(2026, 1, 20)
ONE_DAY = ("--from", DAY.isoformat(), "--to", DAY.isoformat())


def _live_rows(env) -> int:
    with env.sink() as sink:
        return sink.rows(f"SELECT count() FROM {sink.read_table} WHERE toDate(ended_at) = '{DAY}'")[0][0]


def _staged_rows(env) -> int:
    """Rows in the day's one staging table, on the replica of each shard the swap will run on."""
    with env.sink() as sink:
        names = [t for t in staging_tables(sink) if not t.endswith("_d")]
        assert len(names) == 1, names
        stage = f"{sink.db}.{names[0]}"
        total = 0
        for node in sink.shards():
            if sink.capabilities.replica_copies:
                sink.on_node(node, f"SYSTEM SYNC REPLICA {stage}")
            total += sink.on_node(node, f"SELECT count() FROM {stage}")[0][0]
        return total


def test_a_day_larger_than_a_batch_is_staged_in_batches_and_swapped_whole(backend, tmp_path):
    with backend.pg() as conn:
        World(conn).add(DAY, n=2500)
    backend.cli("sync", "--day", DAY.isoformat(), check=True)
    with backend.pg() as conn:
        World.attach(conn).add(DAY, n=400, second=40_000)    # the day grows to 2,900 rows in Postgres
    assert _live_rows(backend) == 2500

    paused = Paused(backend.argv("backfill", *ONE_DAY, "--strategy", "swap", "--yes", "--batch-rows", "1000"),
                    backend.environ(), f"batch:{DAY}", tmp_path / "fault")
    if backend.backend == "cluster":   # chDB is the paused process's: it can be looked into only on a server
        assert _staged_rows(backend) == 1000 and _live_rows(backend) == 2500
        paused.go()
        assert paused.next_pause() is not None
        assert _staged_rows(backend) == 2000 and _live_rows(backend) == 2500
    paused.kill9()                     # between two batches of the same day
    run, meta, states = journal_of_last_run(backend)
    assert states[DAY.isoformat()] == "planned"
    assert _live_rows(backend) == 2500, "the live day must not change before its swap"

    done = backend.cli_json("backfill", "--resume", run, "--take-over", "--yes", "--batch-rows", "1000")
    assert done["state"] == "finished" and done["verify"]["in_sync"]
    assert done["days"][0]["rows_written"] == 2900
    with backend.pg() as conn, backend.sink() as sink:
        assert_sink_equals_source(conn, sink, [DAY])
        assert staging_tables(sink) == []


def test_the_same_day_in_one_batch_or_in_many_gives_the_same_fingerprint(env):
    with env.pg() as conn:
        World(conn).add(DAY, n=2300)
    env.cli("init", check=True)
    one = env.cli_json("sync", "--day", DAY.isoformat())
    many = env.cli_json("sync", "--day", DAY.isoformat(), "--batch-rows", "1000")
    assert one["days"][0]["rows_written"] == many["days"][0]["rows_written"] == 2300
    assert env.cli_json("verify", *ONE_DAY)["in_sync"]


def test_a_batch_below_a_thousand_rows_is_bad_input(env):
    done = env.cli("sync", "--day", DAY.isoformat(), "--batch-rows", "10")
    assert done.returncode == 2 and "--batch-rows" in done.stderr
