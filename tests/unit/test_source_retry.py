"""How the Postgres source treats production: which failed reads are a hot standby's recovery conflicts
(retried, a bounded number of times, then one line naming the settings to change), and the cap on reads
in flight at once (max_reads=, shared by the workers' clones). No database."""

from __future__ import annotations

import threading
import time

import pytest

from chsync.errors import BadInput, RuntimeFailure
from chsync.source import postgres
from chsync.source.postgres import PostgresSource, ReadSlots, RecoveryConflict, max_reads, recovery_conflict, split_dsn
from chsync.spec import load_specs

SPEC = load_specs(None)[0]
DSN = "postgresql://reader:s3cret@replica.example:5433/app"


@pytest.mark.parametrize("sqlstate, message, conflict", [
    ("40001", "canceling statement due to conflict with recovery", True),
    ("40P01", "canceling statement due to conflict with recovery", True),
    ("40001", "terminating connection due to conflict with recovery", True),
    (None, "Code: 1001. DB::Exception: ... canceling statement due to conflict with recovery", True),
    ("40001", "ne peut pas annuler", True),                  # a translated message: the SQLSTATE decides
    ("57014", "canceling statement due to statement timeout", False),
    ("57P01", "terminating connection due to administrator command", False),
    ("42P01", 'relation "conversations" does not exist', False),
    (None, "server closed the connection unexpectedly", False),
])
def test_which_failures_are_recovery_conflicts(sqlstate, message, conflict):
    assert recovery_conflict(sqlstate, message) is conflict


def test_max_reads_is_read_from_the_dsn_and_kept_from_libpq():
    assert max_reads(DSN) == postgres.MAX_READS
    assert max_reads(DSN + "?max_reads=5") == 5
    libpq, _, _ = split_dsn(DSN + "?max_reads=5&read_timeout=60&sslmode=require")
    assert "max_reads" not in libpq and "read_timeout" not in libpq and "sslmode=require" in libpq
    for bad in ("0", "-1", "two", "1.5", "65"):
        with pytest.raises(BadInput) as e:
            max_reads(f"{DSN}?max_reads={bad}")
        assert "max_reads" in str(e.value) and "s3cret" not in str(e.value)


def test_clones_share_the_read_slots():
    source = PostgresSource(DSN + "?max_reads=3", SPEC)
    assert source.slots.limit == 3 and source.clone().slots is source.slots


def test_no_more_reads_at_once_than_slots_and_a_read_inside_a_read_takes_none():
    slots = ReadSlots(2, wait_seconds=30)
    inside, most, lock = [0], [0], threading.Lock()

    def read():
        with slots.slot("Postgres"):
            with slots.slot("Postgres"):     # nested on the same thread: no second slot, no self-wait
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.05)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most[0] == 2


def test_a_slot_wait_is_bounded():
    slots = ReadSlots(1, wait_seconds=0.1)
    held, release = threading.Event(), threading.Event()

    def holder():
        with slots.slot("Postgres at h:1"):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(10)
    try:
        with pytest.raises(RuntimeFailure, match=r"no read slot came free within 0.1s \(max_reads=1\)"):
            with slots.slot("Postgres at h:1"):
                pass
    finally:
        release.set()
        t.join(10)


def test_a_conflict_is_retried_then_named_with_the_settings_to_change(monkeypatch):
    monkeypatch.setattr(postgres, "CONFLICT_RETRY_SECONDS", (0.0, 0.0))
    source = PostgresSource(DSN, SPEC)
    calls = []

    def flaky(fails: int):
        def attempt():
            calls.append(1)
            if len(calls) <= fails:
                raise RecoveryConflict(f"Postgres at {DSN} failed: canceling statement due to conflict with recovery")
            return "rows"
        return attempt

    assert source._retrying(flaky(2)) == "rows" and len(calls) == 3
    calls.clear()
    with pytest.raises(RuntimeFailure) as e:
        source._retrying(flaky(3))
    assert len(calls) == 3 and not isinstance(e.value, RecoveryConflict)
    message = str(e.value)
    assert "\n" not in message and "s3cret" not in message and "replica.example:5433" in message
    assert "max_standby_streaming_delay" in message and "hot_standby_feedback" in message

    calls.clear()   # anything else fails at once
    def broken():
        calls.append(1)
        raise RuntimeFailure("Postgres at x failed: division by zero")
    with pytest.raises(RuntimeFailure, match="division by zero"):
        source._retrying(broken)
    assert len(calls) == 1
