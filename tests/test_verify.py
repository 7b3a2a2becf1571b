"""verify exits 1 on each kind of drift (naming the day) and 0 once sync has repaired it."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import World

D1, D2 = dt.date(2026, 1, 20), dt.date(2026, 1, 21)
RANGE = ("--from", "2026-01-20", "--to", "2026-01-21")


def _missing(env, ids):
    with env.pg() as conn:
        World.attach(conn).add(D2, n=2)


def _stale(env, ids):
    with env.pg() as conn:
        conn.execute("UPDATE conversations SET agent_user_id = 'dev-1' WHERE id = %s", (ids[0],))


def _duplicate(env, ids):
    with env.sink() as sink:
        sink.execute(f"INSERT INTO {sink.table} SELECT * REPLACE (updated_at - 60 AS updated_at, 'agent-2' AS "
                     f"agent_user_id) FROM {sink.table} WHERE conversation_id = '{ids[0]}'")


def _changed_usecase(env, ids):
    with env.pg() as conn:
        conn.execute("UPDATE conversations SET usecase_id = 'uc-reservations-chat' WHERE id = %s", (ids[0],))


@pytest.mark.parametrize("drift, field", [(_missing, "missing"), (_stale, "stale"),
                                          (_duplicate, "duplicates"), (_changed_usecase, "changed")])
def test_verify_fails_on_drift_and_passes_after_sync(env, drift, field):
    with env.pg() as conn:
        w = World(conn)
        w.add(D1, n=5)
        ids = w.add(D2, n=8)
    env.cli("init", check=True)
    env.cli("sync", *RANGE, check=True)
    assert env.cli("verify", *RANGE).returncode == 0

    drift(env, ids)
    done = env.cli("verify", *RANGE)
    assert done.returncode == 1, done.stderr
    assert "2026-01-21: NOT in sync" in done.stdout and "2026-01-20" not in done.stdout
    doc = env.cli_json("verify", *RANGE, expect=1)
    bad = [d for d in doc["days"] if not d["in_sync"]]
    assert [d["day"] for d in bad] == ["2026-01-21"]
    assert bad[0][field] >= 1
    assert doc["in_sync"] is False

    env.cli("sync", *RANGE, check=True)
    assert env.cli("verify", *RANGE).returncode == 0
