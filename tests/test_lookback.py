"""The daily job that heals itself, on chDB and on the 3-shard cluster: `sync --day D --lookback N` syncs D,
compares the N days before it with Postgres and replaces exactly the ones that drifted; the journal and the
metrics say so; a cap or a dry run leaves drift reported (exit 1)."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import World
from prometheus_client.parser import text_string_to_metric_families

from chsync.apply.journal import Journal

D = dt.date(2026, 2, 15)
DAYS = [D - dt.timedelta(days=n) for n in range(14, -1, -1)]     # D-14 .. D
RANGE = ("--from", DAYS[0].isoformat(), "--to", D.isoformat())
A, B, C = DAYS[3], DAYS[7], DAYS[10]                             # the three old days that drift


@pytest.fixture
def synced(backend):
    """Fifteen days of a few conversations each, all synced; the ids per day."""
    with backend.pg() as conn:
        w = World(conn)
        backend.ids = {day: w.add(day, n=4, second=3600) for day in DAYS}
    backend.cli("sync", *RANGE, check=True)
    return backend


def _drift_three_old_days(env) -> None:
    """What the seed's drift was made of: an agent flagged as a dev user, an ended_at reset, a label
    changed; and one conversation deleted on one of those days."""
    with env.pg() as conn:
        conn.execute("UPDATE users SET is_dev_user = true WHERE id = 'agent-2'")
        conn.execute("UPDATE conversations SET agent_user_id = 'agent-2' WHERE id = %s", (env.ids[A][0],))
        conn.execute("DELETE FROM conversation_labels WHERE conversation_id = %s", (env.ids[A][1],))
        conn.execute("DELETE FROM conversations WHERE id = %s", (env.ids[A][1],))
        conn.execute("UPDATE conversations SET ended_at = NULL WHERE id = %s", (env.ids[B][2],))
        conn.execute("UPDATE conversation_labels SET label = 'refund' WHERE conversation_id = %s", (env.ids[C][3],))


def _fingerprints(env) -> dict:
    with env.sink() as sink:
        return {d: sink.table_fingerprint(sink.read_table, d) for d in DAYS}


def test_lookback_heals_exactly_the_drifted_days_and_says_so(synced, tmp_path):
    _drift_three_old_days(synced)
    metrics = tmp_path / "chsync.prom"
    doc = synced.cli_json("sync", "--day", D.isoformat(), "--lookback", "14", "--metrics-file", str(metrics))
    assert doc["checked"] == [d.isoformat() for d in DAYS[:-1]]
    assert doc["drifted"] == [A.isoformat(), B.isoformat(), C.isoformat()] and doc["left"] == []
    healed = {h["day"]: h for h in doc["healed"]}
    assert healed[A.isoformat()] | {"day": None} == {"day": None, "missing": 0, "stale": 2, "changed": 0,
                                                        "duplicates": 0,
                                                        "stale_reasons": {"deleted": 1, "dev_user": 1}}
    assert healed[B.isoformat()]["stale_reasons"] == {"ended_at_reset": 1} and healed[B.isoformat()]["stale"] == 1
    assert healed[C.isoformat()]["changed"] == 1 and healed[C.isoformat()]["stale"] == 0
    assert sorted(d["day"] for d in doc["days"]) == sorted([A.isoformat(), B.isoformat(), C.isoformat(),
                                                            D.isoformat()])
    with synced.sink() as sink:
        journal = Journal(sink)
        states = journal.day_states(doc["run"])
        run = journal.run(doc["run"])
    assert run["kind"] == "sync" and run["state"] == "finished"
    assert {d: s for d, s in states.items()} == dict.fromkeys([A, B, C, D], "checked")
    assert synced.cli("verify", *RANGE).returncode == 0

    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    value = {name: f.samples[0].value for name, f in families.items() if len(f.samples) == 1}
    assert (value["chsync_days_checked"], value["chsync_days_drifted"], value["chsync_days_healed"]) == (14, 3, 3)
    assert value["chsync_rows_written"] == doc["rows_written"] and value["chsync_last_run_success"] == 1
    stale = {s.labels["reason"]: s.value for s in families["chsync_stale_rows"].samples}
    assert stale == {"deleted": 1, "dev_user": 1, "ended_at_reset": 1}
    assert all(s.labels["table"] == "conversation_with_labels" and s.labels["command"] == "sync"
               for f in families.values() for s in f.samples)


def test_with_nothing_changed_only_the_day_is_written(synced):
    before = _fingerprints(synced)
    doc = synced.cli_json("sync", "--day", D.isoformat(), "--lookback", "14")
    assert doc["drifted"] == [] and doc["healed"] == [] and [d["day"] for d in doc["days"]] == [D.isoformat()]
    with synced.sink() as sink:
        assert Journal(sink).day_states(doc["run"]) == {D: "checked"}
    assert _fingerprints(synced) == before


def test_a_cap_or_a_dry_run_leaves_drift_reported_with_exit_1(synced):
    _drift_three_old_days(synced)
    before = _fingerprints(synced)
    dry = synced.cli("sync", "--day", D.isoformat(), "--lookback", "14", "--dry-run", "--json")
    assert dry.returncode == 1 and "3 drifted day(s) left unhealed (dry run)" in dry.stderr
    assert _fingerprints(synced) == before, "a dry run writes nothing"
    capped = synced.cli("sync", "--day", D.isoformat(), "--lookback", "14", "--max-heal-days", "1", "--json")
    assert capped.returncode == 1, capped.stderr
    import json
    doc = json.loads(capped.stdout)
    assert [h["day"] for h in doc["healed"]] == [A.isoformat()] and doc["left"] == [B.isoformat(), C.isoformat()]
    after = _fingerprints(synced)
    assert after[B] == before[B] and after[C] == before[C] and after[A] != before[A]
    healed = synced.cli_json("sync", "--from", DAYS[0].isoformat(), "--to", DAYS[-2].isoformat(),
                             "--only-drifted")
    assert healed["drifted"] == [B.isoformat(), C.isoformat()] and healed["left"] == []
    assert synced.cli("verify", *RANGE).returncode == 0


def test_a_failed_check_fails_the_run_after_the_day_is_written(synced):
    """The lookback is checked while the day is written: when the check fails, the day's write still
    finishes (it is whole and journaled), nothing old is touched, and the run fails with the check's error."""
    _drift_three_old_days(synced)
    with synced.pg() as conn:
        World.attach(conn).add(D, n=2, second=7200)
    before = _fingerprints(synced)
    failed = synced.cli("sync", "--day", D.isoformat(), "--lookback", "14",
                        env={"CHSYNC_FAULT": f"fail:check:{DAYS[0]}"})
    assert failed.returncode == 4, failed.stderr
    assert "injected fault after check" in failed.stderr
    after = _fingerprints(synced)
    assert {d: after[d] for d in DAYS[:-1]} == {d: before[d] for d in DAYS[:-1]}, "no old day was touched"
    assert after[D] != before[D]
    with synced.sink() as sink:
        journal = Journal(sink)
        latest = journal.runs()[0]["run"]
        run = journal.run(latest)
        assert run["kind"] == "sync" and run["state"] == "failed"
        assert journal.day_states(latest) == {D: "checked"}
    assert synced.cli("verify", "--from", D.isoformat(), "--to", D.isoformat()).returncode == 0
    healed = synced.cli_json("sync", "--day", D.isoformat(), "--lookback", "14")
    assert healed["drifted"] == [A.isoformat(), B.isoformat(), C.isoformat()]
