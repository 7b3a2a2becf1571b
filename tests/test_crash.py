"""Crash safety, on chDB and on the real 3-shard cluster alike: a real `kill -9` after every journal state,
a second writer while one runs, a Postgres backend killed mid-read, and one hung mid-read (SIGSTOP: the run
ends within the read timeout). After each: the lock names the dead holder (or was released by the failed
run), resume finishes, verify passes, the sink equals Postgres day by day with zero duplicates."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import time

import pytest
from builders import (
    DAYS,
    RANGE,
    Paused,
    assert_journal_stopped_at,
    assert_refused_naming_the_dead_holder,
    assert_sink_equals_source,
    backends_of,
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
# One worker, so that "the days before the stopped one are done, the later ones untouched" is the truth to
# check (with two, the next day is in flight too; tests/test_workers.py checks the journal with two).
IN_ORDER = ("--workers", "1")
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
    paused = Paused(drifted.argv("backfill", *RANGE, "--strategy", strategy, "--yes", *IN_ORDER),
                    drifted.environ(), point, tmp_path / "fault")
    paused.kill9()
    killed = time.time()

    run, meta, states = journal_of_last_run(drifted)
    assert meta["state"] == "running" and meta["strategy"] == strategy
    assert_journal_stopped_at(states, point, strategy)

    refused = drifted.cli("backfill", *RANGE, "--strategy", strategy, "--yes")
    assert_refused_naming_the_dead_holder(refused, run, paused.pid, started, killed)

    resumed = drifted.cli_json("backfill", "--resume", run, "--take-over", "--yes")
    assert resumed["run"] == run and resumed["state"] == "finished"
    assert resumed["verify"]["in_sync"] is True and resumed["verify"]["duplicate_keys"] == 0
    assert drifted.cli("verify", *RANGE).returncode == 0
    assert_sink_equals_postgres(drifted)
    runs = drifted.cli_json("runs")["runs"]
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


# A Postgres failure is handled before the sink's replicas play any part: chDB and one replica per shard.
@pytest.mark.parametrize("backend", ["chdb", pytest.param("cluster", marks=pytest.mark.cluster)], indirect=True)
@pytest.mark.parametrize("command", ["backfill", "sync"])
def test_postgres_backend_killed_mid_read(drifted, tmp_path, command):
    with drifted.sink() as sink:
        before = {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}
    args = ("backfill", *RANGE, "--strategy", "swap", "--yes") if command == "backfill" else ("sync", *RANGE)
    paused = Paused(drifted.argv(*args, *IN_ORDER),
                    drifted.environ({"CHSYNC_SOURCE": with_password(drifted.source, PASSWORD)}),
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


# -- Postgres hung mid-read (SIGSTOP: the backend keeps its socket and answers nothing) ---------------------

READ_TIMEOUT = 5
APP = "chsync-hang"


def _hung_source(env) -> str:
    """The source DSN with a password, a short read timeout, and a name for the drivers' connections."""
    return with_password(env.source, PASSWORD) + f"?read_timeout={READ_TIMEOUT}&application_name={APP}"


@contextlib.contextmanager
def _stopped(env, pids: list[int]):
    """SIGSTOP these Postgres backends (never the postmaster: the whole test session shares it); always
    SIGCONT them, and end them (their client is gone or its connection was shut)."""
    with env.pg() as conn:
        backends = conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                                "AND pid = ANY(%s)", (pids,)).fetchall()
        assert pids and {p for p, in backends} == set(pids), "client backends only"
        try:
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            yield
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            for pid in pids:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _assert_ended_by_the_read_timeout(done, started: float, env) -> None:
    took = time.monotonic() - started
    assert done.returncode == 4, done.stderr
    assert took < READ_TIMEOUT + 15, f"took {took:.1f}s with a read timeout of {READ_TIMEOUT}s"
    errors = [line for line in done.stderr.splitlines() if line.startswith("chsync: error:")]
    endpoint = env.source.split("@", 1)[1].split("/", 1)[0]          # 127.0.0.1:PORT
    assert len(errors) == 1 and f"Postgres at {endpoint}" in errors[0], done.stderr
    assert f"did not answer within {READ_TIMEOUT}s" in errors[0], errors[0]
    assert PASSWORD not in done.stderr + done.stdout and "Traceback" not in done.stderr


def _assert_journal_failed(env, command: str, day: dt.date) -> None:
    with env.sink() as sink:
        journal = Journal(sink)
        run = journal.runs()[0]["run"]                     # the newest run, a backfill's or a sync's
        meta, states = journal.run(run), {d.isoformat(): s for d, s in journal.day_states(run).items()}
        failed = [e for e in journal.day_events(run) if e["day"] == day.isoformat() and e["state"] == "failed"]
        assert journal.holder() is None, "a failed run releases its lock"
    assert meta["kind"] == command and meta["state"] == "failed" and "did not answer" in meta["detail"], meta
    assert states[day.isoformat()] == "failed", states
    assert failed and "did not answer" in failed[0]["detail"], failed
    if command == "backfill":
        assert states[str(DAYS[3])] == "planned", states


# push: the day's rows are read through ADBC; pull (chDB only: 18.16 has no postgresql()): the day's
# fingerprint through psycopg first. On the cluster a sync reads as a backfill does: one case suffices there.
HUNG_READS = [("chdb", "backfill", "push"), ("chdb", "sync", "push"), ("chdb", "backfill", "pull"),
              pytest.param("cluster", "backfill", "push", marks=pytest.mark.cluster)]


@pytest.mark.parametrize("backend, command, mode", HUNG_READS, indirect=["backend"])
def test_postgres_hung_mid_read_ends_within_the_read_timeout(drifted, tmp_path, command, mode):
    port = int(drifted.source.rsplit(":", 1)[1].split("/")[0])
    with drifted.sink() as sink:
        before = {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}
    args = {"backfill": ("backfill", *RANGE, "--strategy", "swap", "--yes"), "sync": ("sync", *RANGE)}[command]
    paused = Paused(drifted.argv(*args, "--mode", mode, *IN_ORDER),
                    drifted.environ({"CHSYNC_SOURCE": _hung_source(drifted)}), f"read:{DAY}", tmp_path / "fault")
    try:
        with drifted.pg() as conn:
            backends = backends_of(conn, paused.pid, port)
        # the connections of chsync's own drivers (psycopg, ADBC), and only those
        assert backends and {app for _, app in backends} == {APP}, backends
        with _stopped(drifted, [pid for pid, _ in backends]):
            started = time.monotonic()
            paused.go()
            done = paused.wait(timeout=READ_TIMEOUT + 60)
    finally:
        if paused.proc.poll() is None:
            paused.proc.kill()
    _assert_ended_by_the_read_timeout(done, started, drifted)

    with drifted.sink() as sink:
        after = {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}
    assert after[DAY] == before[DAY], "the day being read is untouched"
    assert after[DAYS[3]] == before[DAYS[3]], "the days after it are untouched"
    assert after[DAYS[1]] != before[DAYS[1]], "the day before it was repaired and stays repaired"
    _assert_journal_failed(drifted, command, DAY)

    if command == "backfill":
        resumed = drifted.cli_json("backfill", "--resume", "last", "--yes")
        assert resumed["verify"]["in_sync"] is True and [d["day"] for d in resumed["days"]] == [str(DAY), str(DAYS[3])]
    else:
        assert drifted.cli("sync", *RANGE).returncode == 0  # the daily job's resume is its re-run
    assert drifted.cli("verify", *RANGE).returncode == 0
    assert_sink_equals_postgres(drifted, journal=command == "backfill")


def test_postgres_hung_while_chdb_pulls_a_window_ends_within_the_read_timeout(env, tmp_path):
    """Pull mode on chDB: the sink's postgresql() reads Postgres over connections chDB opens inside chsync's
    process. The backend serving that read is caught waiting on a lock and stopped there."""
    drifted = make_drifted(env)
    first = DAYS[1]                                   # the first drifted day: its window is pulled first
    port = int(drifted.source.rsplit(":", 1)[1].split("/")[0])
    with drifted.sink() as sink:
        before = {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}
    paused = Paused(drifted.argv("backfill", *RANGE, "--strategy", "swap", "--mode", "pull", "--yes", *IN_ORDER),
                    drifted.environ({"CHSYNC_SOURCE": _hung_source(drifted)}), f"pull:{first}", tmp_path / "fault")
    try:
        with drifted.pg() as conn, contextlib.ExitStack() as stopped:
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '20s'")
                conn.execute("LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")
                paused.go()
                deadline = time.monotonic() + 30
                while not (pulling := _waiting_on_a_lock(conn, [pid for pid, app in backends_of(conn, paused.pid, port)
                                                                if app != APP])):
                    assert paused.proc.poll() is None and time.monotonic() < deadline, "the pull never started"
                    time.sleep(0.05)
                stopped.enter_context(_stopped(drifted, pulling))
            started = time.monotonic()                # the lock is released: a backend not stopped would read
            done = paused.wait(timeout=READ_TIMEOUT + 60)
    finally:
        if paused.proc.poll() is None:
            paused.proc.kill()
    _assert_ended_by_the_read_timeout(done, started, drifted)
    assert "(read by the sink)" in done.stderr, done.stderr

    with drifted.sink() as sink:
        after = {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}
    assert after == before, "no day was touched: the window of every drifted day is read before any swap"
    _assert_journal_failed(drifted, "backfill", first)

    resumed = drifted.cli_json("backfill", "--resume", "last", "--yes")
    assert resumed["verify"]["in_sync"] is True
    assert [d["day"] for d in resumed["days"]] == [str(d) for d in DAYS[1:]]
    assert drifted.cli("verify", *RANGE).returncode == 0
    assert_sink_equals_postgres(drifted)


def _waiting_on_a_lock(conn, pids: list[int]) -> list[int]:
    """Those of these backends that wait on a lock (chDB's other connections come and go)."""
    return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s) "
                                       "AND wait_event_type = 'Lock'", (pids,)).fetchall()]
