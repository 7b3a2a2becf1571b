"""The hardest fixed case of every column type through the CLI, on chDB and on the 3-shard 18.16 cluster:
spec check, init, sync (push; and pull where the sink can read Postgres), verify in sync with every row
once, then one double turned from -0.0 to 0.0 in Postgres is what `diff --json` reports, in push mode
and in pull mode (on the cluster: its rows copied into chDB)."""

from __future__ import annotations

import json
import os

import pytest
from conftest import drop_cluster_database
from spec_cases import DAYS, hard_case

RANGE = ("--from", DAYS[0].isoformat(), "--to", DAYS[1].isoformat())


@pytest.fixture(params=["chdb", pytest.param("cluster", marks=pytest.mark.cluster)])
def hard(request, env, tmp_path):
    case = hard_case()
    with env.pg() as conn:
        case.create(conn)
    env.config = case.write_spec(tmp_path / "hard.toml", "hard")
    if request.param == "chdb":
        yield env, case
        return
    cluster = request.getfixturevalue("local_cluster")
    env.db = f"chsync_hard_{os.getpid()}"
    env.sink_url = cluster.url(env.db, "replicated", extra="replicated=1")
    env.cluster, env.cluster_name, env.backend = cluster, "replicated", "cluster"
    yield env, case
    drop_cluster_database(env)


def _verify(env, rows: int) -> None:
    doc = env.cli_json("verify", *RANGE)
    assert doc["in_sync"] and all(d["in_sync"] for d in doc["days"])
    assert doc["source"]["rows"] == doc["sink"]["rows"] == doc["sink"]["distinct"] == rows
    assert doc["sink"]["duplicate_keys"] == 0


def test_hostile_values_sync_verify_and_diff(hard):
    env, case = hard
    check = env.cli("spec", "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout
    env.cli("init", check=True)
    env.cli("sync", *RANGE, "--mode", "push", check=True)
    _verify(env, len(case.rows))
    if env.backend == "chdb":
        done = env.cli_json("sync", *RANGE, "--mode", "pull")
        assert done["mode"] == "pull" and [d["rows_written"] for d in done["days"]] == [2, 2]
        _verify(env, len(case.rows))
    row = case.rows[1]
    assert repr(row["c2"]) == "-0.0"
    with env.pg() as conn:
        case.update(conn, row, case.others[2], 0.0)
    for mode in ("push", "pull"):
        doc = env.cli_json("diff", *RANGE, "--mode", mode, expect=1)
        assert doc["mode"]["mode"] == mode
        assert doc["classes"] == {"missing": 0, "stale": 0, "changed": 1, "duplicates": 0}, doc
        assert doc["samples"]["changed"] == [{"id": "日本\n", "columns": ["c2"]}]
