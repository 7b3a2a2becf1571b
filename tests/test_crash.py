"""Crash safety on chDB: a real `kill -9` after every journal state, and a Postgres backend killed
mid-read. After each: the lock names the dead holder, resume finishes, verify passes, the sink equals
Postgres day by day with zero duplicates."""

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
from test_backfill import DAYS, RANGE, drifted  # noqa: F401 - the fixture

from chsync.apply.journal import Journal

KILL_POINTS = [("swap", "planned"), ("swap", "staged:2026-01-21"), ("swap", "verified:2026-01-21"),
               ("swap", "swapped:2026-01-21"), ("bulk", "deleted"), ("bulk", "inserted:2026-01-21")]


@pytest.mark.parametrize("strategy, point", KILL_POINTS)
def test_kill_9_after_each_journal_state_then_resume(drifted, tmp_path, strategy, point):  # noqa: F811
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
    with drifted.pg() as conn, drifted.sink() as sink:
        assert_sink_equals_source(conn, sink, DAYS)
        assert Journal(sink).holder() is None, "the finished resume must release the lock"
        assert staging_tables(sink) == [], "a finished run leaves no staging table behind"
    runs = drifted.cli_json("runs")
    assert [(r["run"], r["state"]) for r in runs] == [(run, "finished")], "the refused run must leave no trace"


PASSWORD = "pg-s3cret-pw"
DAY = dt.date(2026, 1, 21)


@pytest.mark.parametrize("command", ["backfill", "sync"])
def test_postgres_backend_killed_mid_read(drifted, tmp_path, command):  # noqa: F811
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
    with drifted.pg() as conn, drifted.sink() as sink:
        assert_sink_equals_source(conn, sink, DAYS)
