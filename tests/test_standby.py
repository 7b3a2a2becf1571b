"""--source pointed at a hot standby (a real streaming replica of the session's Postgres, made with
pg_basebackup -R): the read-only commands give the primary's numbers, a backfill reading the standby
leaves the sink equal to Postgres, a lagging standby is read as its own consistent older snapshot (and
its lag is logged), and a recovery conflict that cancels chsync's read is retried, never reported as
drift and never half-written."""

from __future__ import annotations

import contextlib
import copy
import json
import time

import psycopg
import pytest
from builders import DAYS, RANGE, Paused, World, assert_sink_equals_source, make_drifted
from harness.standby import HotStandby, find_bindir

# Until a test asks for conflicts, the standby waits for its readers rather than cancel them.
PATIENT = {"max_standby_streaming_delay": "30s", "hot_standby_feedback": "off"}
HASTY = {"max_standby_streaming_delay": "0", "hot_standby_feedback": "off"}
CONFLICT = "conflict with recovery"


@pytest.fixture(scope="module")
def standby(pg_server):
    if find_bindir() is None:
        pytest.skip("no pg_basebackup beside the embedded Postgres's binaries")
    replica = HotStandby(pg_server).start(**PATIENT)
    yield replica
    replica.stop()


def reading(env, standby: HotStandby):
    """The same source database and sink, with --source pointed at the standby's copy."""
    standby.caught_up()
    replica = copy.copy(env)
    replica.source = standby.url(env.db)
    return replica


def standby_log(standby: HotStandby) -> str:
    return standby.log.read_text(errors="replace")


def assert_nothing_tried_to_write(log_text: str) -> None:
    for sign in ("read-only transaction", "during recovery", "recovery is in progress", "hot standby"):
        assert sign not in log_text, f"something chsync ran failed on the standby: {sign!r}"


def test_read_only_commands_give_the_primarys_numbers_and_a_backfill_reads_the_standby(env, standby):
    drifted = make_drifted(env)
    replica = reading(drifted, standby)
    before = len(standby_log(standby))

    primary, read = drifted.cli_json("verify", *RANGE, expect=1), replica.cli_json("verify", *RANGE, expect=1)
    assert read == primary
    primary, read = drifted.cli_json("scope", *RANGE), replica.cli_json("scope", *RANGE)
    assert read["days"] == primary["days"] and read["totals"] == primary["totals"]

    # its plan, reads and final proof on the standby; three workers sharing one read (max_reads=1: the cap
    # itself is tests/unit/test_source_retry.py's, here it must not stall a run)
    capped = copy.copy(replica)
    capped.source = replica.source + "?max_reads=1"
    done = capped.cli("backfill", *RANGE, "--yes", "--workers", "3")
    assert done.returncode == 0, done.stderr
    assert "is a hot standby (read replica)" in done.stderr and "verify: in sync" in done.stdout
    with drifted.pg() as conn, drifted.sink() as sink:
        assert_sink_equals_source(conn, sink, DAYS)
    assert_nothing_tried_to_write(standby_log(standby)[before:])


def test_a_lagging_standby_is_read_as_its_own_older_snapshot(env, standby):
    with env.pg() as conn:
        world = World(conn)
        for day in DAYS[:2]:
            world.add(day, n=10)
    env.cli("init", check=True)
    env.cli("sync", "--from", "2026-01-19", "--to", "2026-01-20", check=True)
    replica = reading(env, standby)
    window = ("--from", "2026-01-19", "--to", "2026-01-20")

    standby.pause_replay()
    try:
        with env.pg() as conn:   # the primary moves on; the standby does not see it yet
            World.attach(conn).add(DAYS[0], n=5, second=5000)
            conn.execute("UPDATE conversations SET ended_at = NULL WHERE id = (SELECT id FROM conversations "
                         "WHERE ended_at >= '2026-01-20' AND ended_at < '2026-01-21' LIMIT 1)")
        old = replica.cli("verify", *window)
        assert old.returncode == 0, old.stderr   # the standby's snapshot is what the sink holds
        lag = [line for line in old.stderr.splitlines() if "is a hot standby" in line]
        assert len(lag) == 1 and "replay is paused" in lag[0] and "last replayed commit" in lag[0], old.stderr
    finally:
        standby.resume_replay()
    standby.caught_up()
    new = replica.cli_json("verify", *window, expect=1)
    assert [(d["day"], d["in_sync"], d["source"]) for d in new["days"]] == [
        ("2026-01-19", False, 15), ("2026-01-20", False, 9)]


@contextlib.contextmanager
def hasty(standby: HotStandby):
    standby.configure(**HASTY)
    try:
        yield
    finally:
        standby.configure(**PATIENT)


def cancel_the_read_on_the_standby(env, standby: HotStandby, paused: Paused, timeout: float = 30.0) -> None:
    """Let `paused` (stopped just before a read) read the standby while its replay of the primary needs a
    lock that read holds: the primary locks a child table (the read, holding the base table, waits for it on
    the standby), then the base table. With max_standby_streaming_delay=0 the standby cancels the read."""
    with env.pg() as child_lock, env.pg() as base_lock, env.pg() as flush, standby.connect(env.db) as watch:
        flush.execute("SET synchronous_commit = on")   # a commit flushes the lock records before it to the standby
        child_lock.execute("BEGIN")
        child_lock.execute("LOCK TABLE conversation_labels IN ACCESS EXCLUSIVE MODE")
        flush.execute("SELECT txid_current()")
        waiting = ("SELECT count(*) FROM pg_locks WHERE relation = 'conversation_labels'::regclass "
                   "AND mode = 'AccessShareLock' AND NOT granted")
        deadline = time.monotonic() + timeout
        paused.go()
        while not watch.execute(waiting).fetchone()[0]:
            assert paused.proc.poll() is None and time.monotonic() < deadline, "the read never started"
            time.sleep(0.02)
        base_lock.execute("BEGIN")
        base_lock.execute("LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")
        # the standby replays this lock before either commit that releases the child table, so it finds
        # the read still holding conversations, and cancels it
        flush.execute("SELECT txid_current()")
        base_lock.execute("COMMIT")
        child_lock.execute("COMMIT")


def conflicts_in(standby: HotStandby, since: int) -> int:
    return standby_log(standby)[since:].count(f"canceling statement due to {CONFLICT}")


def test_recovery_conflicts_are_retried_never_drift_never_half_written(env, standby, tmp_path):
    drifted = make_drifted(env)
    replica = reading(drifted, standby)
    with hasty(standby):
        # a backfill's read of a day (the day's rows, streamed) is cancelled: it reads the day again
        before = len(standby_log(standby))
        paused = Paused(replica.argv("backfill", *RANGE, "--yes", "--workers", "1"), replica.environ(),
                        "read:2026-01-21", tmp_path / "backfill")
        cancel_the_read_on_the_standby(drifted, standby, paused)
        done = paused.wait(120)
        assert conflicts_in(standby, before) >= 1, "the standby never cancelled the read"
        assert done.returncode == 0, done.stderr
        assert "trying again" in done.stderr and "verify: in sync" in done.stdout
        with drifted.pg() as conn, drifted.sink() as sink:
            assert_sink_equals_source(conn, sink, DAYS)

        # the daily job's check of its lookback (per-day fingerprints) is cancelled: no day reads as drifted
        before = len(standby_log(standby))
        paused = Paused(replica.argv("sync", "--day", "2026-01-23", "--lookback", "4", "--json"),
                        replica.environ(), "check", tmp_path / "sync")
        cancel_the_read_on_the_standby(drifted, standby, paused)
        done = paused.wait(120)
        assert conflicts_in(standby, before) >= 1, "the standby never cancelled the read"
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["checked"] == [d.isoformat() for d in DAYS] and doc["drifted"] == [] and doc["healed"] == []


def test_the_harness_standby_refuses_writes(env, standby):
    """What the tests above rely on: the copy chsync reads is a real standby (writes fail there)."""
    with env.pg() as conn:
        conn.execute("CREATE TABLE probe (a int)")
    standby.caught_up()
    with standby.connect(env.db) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO probe VALUES (1)")
