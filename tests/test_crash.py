"""Crash safety, on chDB and on the real 3-shard cluster alike: a real `kill -9` after every journal state,
a second writer while one runs, and a Postgres backend killed mid-read. After each: the lock names the
dead holder, resume finishes, verify passes, the sink equals Postgres day by day with zero duplicates."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from builders import (
    DAYS,
    RANGE,
    Paused,
    assert_journal_stopped_at,
    assert_refused_naming_the_dead_holder,
    assert_sink_equals_source,
    journal_of_last_run,
    kill_backend_mid_read,
    make_drifted,
    staging_tables,
    with_password,
)

from chsync.apply.journal import Journal

KILL_POINTS = [("swap", "planned"), ("swap", "staged:2026-01-21"), ("swap", "verified:2026-01-21"),
               ("swap", "swapped:2026-01-21"), ("bulk", "deleted"), ("bulk", "inserted:2026-01-21")]
PASSWORD = "pg-s3cret-pw"
DAY = dt.date(2026, 1, 21)


@pytest.fixture
def drifted(backend):
    return make_drifted(backend)


def assert_sink_equals_postgres(env, journal: bool = True) -> None:
    with env.pg() as conn, env.sink() as sink:
        assert_sink_equals_source(conn, sink, DAYS)
        if journal:
            assert Journal(sink).holder() is None, "the lock must be released"
        assert staging_tables(sink) == [], "a finished run leaves no staging table behind"


@pytest.mark.parametrize("strategy, point", KILL_POINTS)
def test_kill_9_after_each_journal_state_then_resume(drifted, tmp_path, strategy, point):
    started = time.time()
    paused = Paused(drifted.argv("backfill", *RANGE, "--strategy", strategy, "--yes"), drifted.environ(), point,
                    tmp_path / "fault")
    paused.kill9()
    killed = time.time()

    run, meta, states = journal_of_last_run(drifted)
    assert meta["state"] == "running" and meta["strategy"] == strategy
    assert_journal_stopped_at(states, point, strategy)

    refused = drifted.cli("backfill", *RANGE, "--strategy", strategy, "--yes")
    assert_refused_naming_the_dead_holder(refused, run, paused.pid, started, killed)

    resumed = drifted.cli_json("backfill", "--resume", run, "--take-over", "--yes")
    assert resumed["run"] == run and resumed["state"] == "finished"
    assert resumed["verify"]["in_sync"] is True and resumed["verify"]["duplicate_conversations"] == 0
    assert drifted.cli("verify", *RANGE).returncode == 0
    assert_sink_equals_postgres(drifted)
    runs = drifted.cli_json("runs")
    assert [(r["run"], r["state"]) for r in runs] == [(run, "finished")], "the refused run must leave no trace"


def test_a_second_writer_while_one_runs_is_refused(drifted, tmp_path):
    paused = Paused(drifted.argv("backfill", *RANGE, "--strategy", "swap", "--yes"), drifted.environ(),
                    "staged:2026-01-21", tmp_path / "fault")
    try:
        run = _running_run(drifted)
        for args in [("backfill", *RANGE, "--strategy", "swap", "--yes", "--take-over"),
                     ("backfill", "--resume", run, "--yes", "--take-over"), ("sync", *RANGE)]:
            done = drifted.cli(*args)
            assert done.returncode == 3, (args, done.stderr)
            if drifted.backend == "chdb":   # chDB lets one process open its directory: the holder file names it
                assert f"is in use by pid {paused.pid} on " in done.stderr and "`chsync " in done.stderr
            else:
                assert f"locked by run {run} (pid {paused.pid} on " in done.stderr, done.stderr
                assert "wait for it to finish" in done.stderr
    finally:
        paused.go()
    finished = paused.wait()
    assert finished.returncode == 0, finished.stderr
    assert drifted.cli("verify", *RANGE).returncode == 0
    assert_sink_equals_postgres(drifted)


def _running_run(env) -> str:
    """The run id of the paused backfill (on chDB its process holds the directory: read its output)."""
    if env.backend == "cluster":
        return journal_of_last_run(env)[0]
    return "whatever-run"   # the directory is held, so any run id is refused the same way


@pytest.mark.parametrize("command", ["backfill", "sync"])
def test_postgres_backend_killed_mid_read(drifted, tmp_path, command):
    with drifted.sink() as sink:
        before = {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}
    args = ("backfill", *RANGE, "--strategy", "swap", "--yes") if command == "backfill" else ("sync", *RANGE)
    paused = Paused(drifted.argv(*args), drifted.environ({"CHSYNC_SOURCE": with_password(drifted.source, PASSWORD)}),
                    f"read:{DAY}", tmp_path / "fault")
    with drifted.pg() as conn:
        kill_backend_mid_read(conn, paused)
    done = paused.wait()

    assert done.returncode == 4, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("chsync: error:")]
    assert len(errors) == 1 and "Postgres at postgresql://postgres:***@127.0.0.1:" in errors[0], done.stderr
    assert "terminat" in errors[0], errors[0]  # the server's reason, not a traceback
    assert PASSWORD not in done.stderr + done.stdout and "Traceback" not in done.stderr
    with drifted.sink() as sink:
        after = {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}
        if command == "backfill":
            journal = Journal(sink)
            run = journal.latest_run()
            states = {d.isoformat(): s for d, s in journal.day_states(run).items()}
            assert journal.run(run)["state"] == "failed" and "Postgres" in journal.run(run)["detail"]
            assert states == {"2026-01-19": "skipped", "2026-01-20": "checked", "2026-01-21": "failed",
                              "2026-01-22": "planned"}
            assert journal.holder() is None, "a failed run releases its lock"
    assert after[DAY] == before[DAY], "the day being read must be untouched (rows, distinct, fingerprint)"
    assert after[DAYS[3]] == before[DAYS[3]], "days after it are untouched"
    assert after[DAYS[1]] != before[DAYS[1]], "the day before it was repaired and stays repaired"

    if command == "backfill":
        resumed = drifted.cli_json("backfill", "--resume", "last", "--yes")
        assert resumed["verify"]["in_sync"] is True and [d["day"] for d in resumed["days"]] == [str(DAY), str(DAYS[3])]
    else:
        assert drifted.cli("sync", *RANGE).returncode == 0  # the daily job's resume is its re-run
    assert drifted.cli("verify", *RANGE).returncode == 0
    assert_sink_equals_postgres(drifted, journal=command == "backfill")
