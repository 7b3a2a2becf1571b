"""Row-level diff: every class, reason and changed column equals what the test did to the data."""

from __future__ import annotations

import datetime as dt

from builders import World

D1, D2 = dt.date(2026, 1, 20), dt.date(2026, 1, 21)
RANGE = ("--from", "2026-01-20", "--to", "2026-01-21")


def test_diff_classifies_each_kind_of_drift(env):
    with env.pg() as conn:
        w = World(conn)
        ids = w.add(D1, n=40)
        other = w.add(D2, n=10)
    env.cli("init", check=True)
    env.cli("sync", *RANGE, check=True)
    with env.pg() as conn:
        run = conn.execute
        run("DELETE FROM conversation_labels WHERE conversation_id = %s", (ids[0],))
        run("DELETE FROM conversations WHERE id = %s", (ids[0],))                           # deleted
        run("UPDATE conversations SET ended_at = NULL WHERE id = %s", (ids[1],))             # ended_at_reset
        run("UPDATE conversations SET ended_at = ended_at + interval '1 day' WHERE id = ANY(%s::uuid[])",
            (ids[2:4],))                                                          # day_moved (+ missing on D2)
        run("UPDATE conversations SET agent_user_id = 'dev-1' WHERE id = ANY(%s::uuid[])", (ids[4:7],))  # dev_user
        run("UPDATE conversations SET agent_user_id = NULL WHERE id = %s", (ids[7],))        # dev_user (no agent)
        run("UPDATE conversations SET source_type = 'email' WHERE id = ANY(%s::uuid[])", (ids[8:10],))
        run("UPDATE conversations SET has_agent_assistance = false WHERE id = %s", (ids[10],))
        run("UPDATE conversations SET customer_id = 'other-air' WHERE id = %s", (ids[11],))
        run("UPDATE conversations SET usecase_id = 'uc-chat' WHERE id = ANY(%s::uuid[])", (ids[12:17],))
        run("UPDATE conversations SET agent_user_id = 'agent-2' WHERE id = ANY(%s::uuid[])", (ids[15:19],))
        run("INSERT INTO conversation_labels VALUES (%s, 'zz-new')", (ids[19],))
        World.attach(conn).add(D2, n=3, second=9000)                                         # missing
    with env.sink() as sink:
        for cid in other[:2]:
            sink.execute(f"INSERT INTO {sink.table} SELECT * REPLACE (updated_at - 60 AS updated_at) "
                         f"FROM {sink.table} WHERE conversation_id = '{cid}'")

    doc = env.cli_json("diff", *RANGE, "--limit", "50", expect=1)
    assert doc["classes"] == {"missing": 5, "stale": 12, "changed": 8, "duplicates": 2}
    assert doc["stale_reasons"] == {"deleted": 1, "ended_at_reset": 1, "day_moved": 2, "dev_user": 4,
                                    "source_type_changed": 2, "no_agent_assistance": 1, "customer_changed": 1}
    assert doc["changed_columns"] == {"usecase_id": 5, "agent_user_id": 4, "labels": 1}
    reasons = {s["id"]: s["reason"] for s in doc["samples"]["stale"]}
    assert reasons[ids[0]] == "deleted" and reasons[ids[2]] == "day_moved" and reasons[ids[7]] == "dev_user"
    changed = {s["id"]: s["columns"] for s in doc["samples"]["changed"]}
    assert changed[ids[15]] == ["usecase_id", "agent_user_id"] and changed[ids[19]] == ["labels"]
    assert sorted(doc["samples"]["duplicates"]) == sorted(other[:2])

    scope = env.cli_json("scope", *RANGE)
    assert scope["stale_reasons"] == doc["stale_reasons"]
    assert scope["changed_columns"] == doc["changed_columns"]
    assert scope["totals"] == {"missing": 5, "stale": 12, "changed": 8}

    env.cli("backfill", *RANGE, "--strategy", "repair", "--yes", check=True)
    assert env.cli_json("diff", *RANGE)["in_sync"] is True
