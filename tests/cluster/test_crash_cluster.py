"""Crash safety on the real 3-shard cluster: a real `kill -9` after every journal state, a second
backfill while one runs, and a Postgres backend killed mid-read. Small data (the RANGE days at scale
0.003), one layout (replicated, cityHash64 sharding)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from builders import (
    Paused,
    assert_journal_stopped_at,
    assert_refused_naming_the_dead_holder,
    assert_sink_equals_source,
    journal_of_last_run,
    kill_backend_mid_read,
    staging_tables,
    with_password,
)

from chsync.apply.journal import Journal
from cluster.test_cluster import RANGE, _cli, _json, cluster_env  # noqa: F401 - the fixture

pytestmark = [pytest.mark.cluster, pytest.mark.parametrize("cluster_env", ["replicated-cityhash"], indirect=True)]
DAYS = [dt.date(2026, 1, 18) + dt.timedelta(days=i) for i in range(6)]
KILL_POINTS = [("swap", "planned"), ("swap", "staged:2026-01-21"), ("swap", "verified:2026-01-21"),
               ("swap", "swapped:2026-01-21"), ("bulk", "deleted"), ("bulk", "inserted:2026-01-21")]


def argv(env, *args):
    return env.argv("--config", env.config, *args)


def assert_sink_equals_postgres(env, journal: bool = True):
    with env.pg() as conn, env.sink() as sink:
        assert_sink_equals_source(conn, sink, DAYS)
        if journal:  # (sync keeps no journal)
            assert Journal(sink).holder() is None, "the lock must be released"
        assert staging_tables(sink) == [], "a finished run leaves no staging table behind"


@pytest.mark.parametrize("strategy, point", KILL_POINTS)
def test_kill_9_after_each_journal_state_then_resume(cluster_env, tmp_path, strategy, point):  # noqa: F811
    started = time.time()
    paused = Paused(argv(cluster_env, "backfill", *RANGE, "--strategy", strategy, "--yes"), cluster_env.environ(),
                    point, tmp_path / "fault")
    paused.kill9()
    killed = time.time()

    run, meta, states = journal_of_last_run(cluster_env)
    assert meta["state"] == "running" and meta["strategy"] == strategy
    assert_journal_stopped_at(states, point, strategy)

    refused = _cli(cluster_env, "backfill", *RANGE, "--strategy", strategy, "--yes")
    assert_refused_naming_the_dead_holder(refused, run, paused.pid, started, killed)

    resumed = _json(cluster_env, "backfill", "--resume", run, "--take-over", "--yes")
    assert resumed["run"] == run and resumed["state"] == "finished"
    assert resumed["verify"]["in_sync"] is True and resumed["verify"]["duplicate_conversations"] == 0
    assert _cli(cluster_env, "verify", *RANGE).returncode == 0
    assert_sink_equals_postgres(cluster_env)
    assert [(r["run"], r["state"]) for r in _json(cluster_env, "runs")] == [(run, "finished")]


def test_a_second_backfill_or_resume_while_one_runs_is_refused(cluster_env, tmp_path):  # noqa: F811
    paused = Paused(argv(cluster_env, "backfill", *RANGE, "--strategy", "swap", "--yes"), cluster_env.environ(),
                    "staged:2026-01-21", tmp_path / "fault")
    try:
        run = journal_of_last_run(cluster_env)[0]
        for args in [("backfill", *RANGE, "--strategy", "swap", "--yes", "--take-over"),
                     ("backfill", "--resume", run, "--yes", "--take-over")]:
            done = _cli(cluster_env, *args)
            assert done.returncode == 3, (args, done.stderr)
            assert f"locked by run {run} (pid {paused.pid} on " in done.stderr, done.stderr
            assert "wait for it to finish" in done.stderr
    finally:
        paused.go()
    finished = paused.wait()
    assert finished.returncode == 0, finished.stderr
    assert _cli(cluster_env, "verify", *RANGE).returncode == 0
    assert_sink_equals_postgres(cluster_env)


PASSWORD = "pg-s3cret-pw"
DAY = dt.date(2026, 1, 21)


@pytest.mark.parametrize("command", ["backfill", "sync"])
def test_postgres_backend_killed_mid_read(cluster_env, tmp_path, command):  # noqa: F811
    with cluster_env.sink() as sink:
        before = {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}
    args = ("backfill", *RANGE, "--strategy", "swap", "--yes") if command == "backfill" else ("sync", *RANGE)
    paused = Paused(argv(cluster_env, *args),
                    cluster_env.environ({"CHSYNC_SOURCE": with_password(cluster_env.source, PASSWORD)}),
                    f"read:{DAY}", tmp_path / "fault")
    with cluster_env.pg() as conn:
        kill_backend_mid_read(conn, paused)
    done = paused.wait()

    assert done.returncode == 4, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("chsync: error:")]
    assert len(errors) == 1 and "Postgres at postgresql://postgres:***@127.0.0.1:" in errors[0], done.stderr
    assert "terminat" in errors[0] and PASSWORD not in done.stderr + done.stdout
    with cluster_env.sink() as sink:
        after = {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}
    assert after[DAY] == before[DAY], "the day being read must be untouched (rows, distinct, fingerprint)"
    assert all(after[d] == before[d] for d in DAYS if d > DAY), "days after it are untouched"
    assert any(after[d] != before[d] for d in DAYS if d < DAY), "days before it were repaired and stay so"

    if command == "backfill":
        run, meta, states = journal_of_last_run(cluster_env)
        assert meta["state"] == "failed" and "Postgres" in meta["detail"]
        assert states[str(DAY)] == "failed"
        assert all(states[str(d)] in ("checked", "skipped") for d in DAYS if d < DAY), states
        resumed = _json(cluster_env, "backfill", "--resume", "last", "--yes")
        assert resumed["run"] == run and resumed["verify"]["in_sync"] is True
    else:
        assert _cli(cluster_env, "sync", *RANGE).returncode == 0  # the daily job's resume is its re-run
    assert _cli(cluster_env, "verify", *RANGE).returncode == 0
    assert_sink_equals_postgres(cluster_env, journal=command == "backfill")
