"""The daily job: idempotent, guarded, and a failed source read leaves the day untouched."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from builders import BREAK_LABELS, World, sink_rows, source_ids

D1, D2 = dt.date(2026, 1, 20), dt.date(2026, 1, 21)


def test_sync_three_times_leaves_exactly_the_source_set(env):
    with env.pg() as conn:
        w = World(conn)
        w.add(D1, n=40, labels=("café", "o'brien", "a,b"))
        w.add(D1, n=5, agent="dev-1")                     # filtered out: dev agent
        w.add(D1, n=3, source_type="email")              # filtered out: source type
        w.add(D1, n=2, customer="other-air", profile="p-other")
        w.add(D2, n=25, usecase="chat", labels=())
        expected = {D1: source_ids(conn, D1), D2: source_ids(conn, D2)}
    assert len(expected[D1]) == 40 and len(expected[D2]) == 25
    assert env.cli("init").returncode == 0
    for _ in range(3):
        done = env.cli("sync", "--from", "2026-01-20", "--to", "2026-01-21")
        assert done.returncode == 0, done.stderr
        assert "profiles scanned 3 (filtered to 1: alaska-air)" in done.stderr
        assert "2026-01-20: 40 rows written" in done.stderr
    with env.sink() as sink:
        for day, ids in expected.items():
            rows = sink_rows(sink, day)
            assert Counter(rows).most_common(1)[0][1] == 1, "a re-run duplicated rows"
            assert set(rows) == ids
    assert env.cli("verify", "--from", "2026-01-20", "--to", "2026-01-21").returncode == 0


def test_sync_json_reports_rows_written_per_day(env):
    with env.pg() as conn:
        World(conn).add(D1, n=7)
    env.cli("init", check=True)
    doc = env.cli_json("sync", "--day", "2026-01-20")
    assert doc["units_scanned"] == 3 and doc["units_matched"] == 1
    assert [(d["day"], d["rows_written"]) for d in doc["days"]] == [("2026-01-20", 7)]


def _sink_snapshot(env):
    with env.sink() as sink:
        return sorted(sink.rows(f"SELECT toString(conversation_id), usecase_id, updated_at FROM {sink.table}"))


def test_empty_source_day_is_refused_and_left_untouched(env):
    with env.pg() as conn:
        ids = World(conn).add(D1, n=10)
    env.cli("init", check=True)
    env.cli("sync", "--day", "2026-01-20", check=True)
    with env.pg() as conn:
        conn.execute("UPDATE conversations SET agent_user_id = 'dev-1' WHERE id = ANY(%s::uuid[])", (ids,))
    before = _sink_snapshot(env)
    done = env.cli("sync", "--day", "2026-01-20")
    assert done.returncode == 3
    assert "refusing to empty the day" in done.stderr and "--allow-shrink" in done.stderr
    assert _sink_snapshot(env) == before
    done = env.cli("sync", "--day", "2026-01-20", "--allow-shrink")
    assert done.returncode == 0, done.stderr
    assert _sink_snapshot(env) == []


def test_shrink_below_half_is_refused(env):
    with env.pg() as conn:
        ids = World(conn).add(D1, n=10)
    env.cli("init", check=True)
    env.cli("sync", "--day", "2026-01-20", check=True)
    with env.pg() as conn:
        conn.execute("UPDATE conversations SET ended_at = NULL WHERE id = ANY(%s::uuid[])", (ids[:6],))
    before = _sink_snapshot(env)
    done = env.cli("sync", "--day", "2026-01-20")
    assert done.returncode == 3 and "less than 50% of the sink's 10" in done.stderr
    assert _sink_snapshot(env) == before


def test_failed_source_read_leaves_the_day_untouched(env):
    with env.pg() as conn:
        World(conn).add(D1, n=10)
    env.cli("init", check=True)
    env.cli("sync", "--day", "2026-01-20", check=True)
    before = _sink_snapshot(env)
    with env.pg() as conn:
        conn.execute(BREAK_LABELS)
    done = env.cli("sync", "--day", "2026-01-20")
    assert done.returncode == 4
    lines = [line for line in done.stderr.splitlines() if line.startswith("chsync: error")]
    assert len(lines) == 1 and "division by zero" in lines[0], done.stderr
    assert _sink_snapshot(env) == before
