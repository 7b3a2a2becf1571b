"""One fixed row set with a column of every type chsync adopts beyond the seed's (timestamp without time
zone as the day, smallint, real, bytea, json, jsonb, inet, time, interval, enum, varchar(n), char(n), and
ordered arrays of every element type, NULL elements kept), on
chDB and on 3 shards x 2 replicas of ClickHouse 18.16: spec check, sync, verify, the sink holds each
value as Postgres reads it; then one value changed per column is reported as exactly that key and that
column, and a jsonb rewritten in another key order is no change at all (Postgres's own equality)."""

from __future__ import annotations

import json
import os

import pytest
from conftest import drop_cluster_database
from spec_cases import DAYS, every_type_case
from spec_roundtrip import expected_rows, sink_rows

from chsync.sink import open_sink
from chsync.spec import load_specs

RANGE = ("--from", DAYS[0].isoformat(), "--to", DAYS[1].isoformat())


@pytest.fixture(params=["chdb", pytest.param("replicas", marks=pytest.mark.cluster)])
def typed(request, env, tmp_path, monkeypatch):
    """The clocks around chsync all elsewhere: the client's TZ, libpq's PGTZ and the database's TimeZone
    in half-hour zones (the replica cluster's servers run in one too); no answer may move."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    monkeypatch.setenv("PGTZ", "America/St_Johns")
    case = every_type_case()
    with env.pg() as conn:
        conn.execute(f"ALTER DATABASE {env.db} SET TimeZone = 'Australia/Adelaide'")
        case.create(conn)
    env.config = case.write_spec(tmp_path / "types.toml", "types")
    if request.param == "chdb":
        yield env, case
        return
    cluster = request.getfixturevalue("replica_cluster")
    env.db = f"chsync_types_{os.getpid()}"
    env.config = case.write_spec(tmp_path / "types.toml", env.db)
    env.sink_url = cluster.url(env.db, "replicated", extra="replicated=1")
    env.cluster, env.cluster_name, env.backend = cluster, "replicated", "cluster"
    yield env, case
    drop_cluster_database(env)


def _held(env, case) -> tuple[dict, dict]:
    """(the rows the sink holds, the rows it must hold at its time precision)."""
    sink = open_sink(env.sink_url, load_specs(env.config)[0])
    try:
        return sink_rows(sink, case), expected_rows(case, sink.capabilities.time_precision)
    finally:
        sink.close()


def test_every_type_syncs_exactly_and_each_change_is_named(typed):
    env, case = typed
    check = env.cli("spec", "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout + check.stderr
    env.cli("init", check=True)
    env.cli("sync", *RANGE, check=True)
    doc = env.cli_json("verify", *RANGE)
    assert doc["in_sync"] and doc["source"]["rows"] == doc["sink"]["rows"] == len(case.rows)
    assert [d["source"] for d in doc["days"]] == [1, 2]   # the wall-clock dates of the timestamp day
    held, expected = _held(env, case)
    assert held == expected

    cols = {c.name: c for c in case.others}
    with env.pg() as conn:   # the same jsonb in another key order and spacing: equal in Postgres, no drift
        conn.execute("UPDATE pt_base SET c4 = '{\"b\":true,   \"aa\":null}' "
                     "WHERE c4::text = '{\"b\": true, \"aa\": null}'")
    assert env.cli("diff", *RANGE, "--json").returncode == 0
    changes = {1: ("c12", [1, None, 3, -(2**31)]), 2: ("c2", b"\x00\xfe"), 3: ("c7", "1 day")}   # a reorder too
    with env.pg() as conn:
        for row in case.rows:
            if row["k"] in changes:
                name, value = changes[row["k"]]
                case.update(conn, row, cols[name], value)
    diff = env.cli_json("diff", *RANGE, "--mode", "push", expect=1)
    assert diff["classes"] == {"missing": 0, "stale": 0, "changed": 3, "duplicates": 0}, diff
    assert sorted((s["id"], s["columns"]) for s in diff["samples"]["changed"]) == \
        [(str(k), [name]) for k, (name, _) in sorted(changes.items())]
    with env.pg() as conn:   # json compares as written: the same document respaced is a change
        conn.execute("UPDATE pt_base SET c3 = (' ' || c3::text)::json WHERE k = 1")
        case.rows[0]["c3"] = " " + case.rows[0]["c3"]
    assert env.cli_json("diff", *RANGE, "--mode", "push", expect=1)["changed_columns"] == \
        {"c12": 1, "c2": 1, "c7": 1, "c3": 1}
    env.cli("sync", *RANGE, check=True)
    assert env.cli_json("verify", *RANGE)["in_sync"]
    held, expected = _held(env, case)
    assert held == expected
