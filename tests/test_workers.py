"""--workers N: days in parallel, with the journal and the lock as exact as with one worker."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import World

from chsync.apply.journal import Journal
from chsync.dates import day_range

FIRST, LAST = dt.date(2026, 1, 20), dt.date(2026, 1, 27)
RANGE = ("--from", FIRST.isoformat(), "--to", LAST.isoformat())


@pytest.fixture
def eight_drifted_days(env):
    with env.pg() as conn:
        w = World(conn)
        for i, day in enumerate(day_range(FIRST, LAST)):
            w.add(day, n=30 + i, second=i * 11)
    env.cli("init", check=True)
    env.cli("sync", *RANGE, check=True)
    with env.pg() as conn:  # drift on every day: new rows, and rows that leave the source set
        w = World.attach(conn)
        for day in day_range(FIRST, LAST):
            w.add(day, n=4, second=4000)
        conn.execute("UPDATE conversations SET agent_user_id = 'dev-1' WHERE id IN "
                     "(SELECT id FROM conversations ORDER BY id LIMIT 25)")
    return env


@pytest.mark.parametrize("mode", ["push", "pull"])
def test_two_workers_backfill_every_day_once_and_the_journal_says_so(eight_drifted_days, mode):
    env = eight_drifted_days
    result = env.cli_json("backfill", *RANGE, "--strategy", "swap", "--mode", mode, "--workers", "2", "--yes")
    assert result["verify"] == {"in_sync": True, "days_out_of_sync": [], "duplicate_keys": 0}
    assert sorted(d["day"] for d in result["days"]) == [d.isoformat() for d in day_range(FIRST, LAST)]
    with env.sink() as sink:
        journal = Journal(sink)
        assert set(journal.day_states(result["run"]).values()) == {"checked"}
        events = journal.day_events(result["run"])
        for day in day_range(FIRST, LAST):  # every day went through every state once, in order
            states = [e["state"] for e in events if e["day"] == day.isoformat()]
            assert states == ["planned", "staged", "verified", "swapped", "checked"], (day, states)
    again = env.cli_json("backfill", *RANGE, "--strategy", "swap", "--workers", "2", "--yes")
    assert again["rows_written"] == 0  # in sync: nothing to do, nothing doubled


def test_two_workers_daily_sync_equals_the_source(eight_drifted_days):
    env = eight_drifted_days
    done = env.cli_json("sync", *RANGE, "--workers", "2")
    assert [d["day"] for d in done["days"]] == [d.isoformat() for d in day_range(FIRST, LAST)]
    proof = env.cli_json("verify", *RANGE)
    assert proof["in_sync"] and proof["sink"]["rows"] == proof["source"]["rows"]


def test_workers_must_be_a_positive_number(eight_drifted_days):
    done = eight_drifted_days.cli("sync", *RANGE, "--workers", "0")
    assert done.returncode == 2 and "--workers" in done.stderr
