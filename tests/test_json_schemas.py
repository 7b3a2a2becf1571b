"""Every command's --json document follows the schema file it names (chsync/schemas/), run for real on small
data: the seed's table built row by row and drifted (tests/builders.py), a generated table of another spec,
a spec file of two tables, a throwaway embedded instance. (The demo's document is checked through its golden
file, tests/unit/test_json_schemas.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from builders import DAYS, RANGE, make_drifted
from schema_check import assert_valid

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TWO_TABLES = """
[[tables]]
name = "alpha"
[tables.table]
key = "id"
day = "at"
version = "v"
[tables.source]
from = "alpha_rows a"
[tables.columns]
id = { sql = "a.id", type = "bigint" }
at = { sql = "a.at", type = "timestamptz" }
v = { sql = "a.v", type = "bigint" }
[tables.sink]
database = "two"
table = "alpha"

[[tables]]
name = "beta"
[tables.table]
key = "id"
day = "at"
version = "v"
[tables.source]
from = "beta_rows b"
[tables.columns]
id = { sql = "b.id", type = "bigint" }
at = { sql = "b.at", type = "timestamptz" }
v = { sql = "b.v", type = "bigint" }
[tables.sink]
database = "two"
table = "beta"
"""


def checked(env, *args: str, expect: int = 0) -> dict:
    doc = env.cli_json(*args, expect=expect)
    assert_valid(doc, f"chsync {' '.join(args)} --json")
    return doc


def test_every_command_on_the_seeds_table_prints_a_document_its_schema_accepts(env, tmp_path):
    make_drifted(env)
    day = DAYS[-1].isoformat()
    assert checked(env, "init")["schema"] == "chsync.init/2"
    assert checked(env, "spec", "check")["ok"]
    assert checked(env, "spec", "show", "--day", day)["schema"] == "chsync.spec-show/2"
    assert checked(env, "spec", "new", "--from", "public.conversations", "--day", "started_at")["spec"]
    assert checked(env, "migrate", "--dry-run")["statements"] == []
    scope = checked(env, "scope", *RANGE, "--samples", "2")
    assert scope["sink"]["duplicate_keys"] and scope["samples"]["duplicates"]
    diff = checked(env, "diff", *RANGE, "--limit", "2", expect=1)
    assert diff["samples"]["stale"] and diff["samples"]["changed"]
    assert not checked(env, "verify", *RANGE, expect=1)["in_sync"]
    plan_file = tmp_path / "plan.json"
    plan = checked(env, "plan", *RANGE, "--strategy", "swap", "--out", str(plan_file))
    assert_valid(json.loads(plan_file.read_text()), "the file plan --out saved")
    assert json.loads(plan_file.read_text())["days"] == plan["days"]
    done = checked(env, "backfill", "--plan", str(plan_file), "--yes")
    assert done["verify"] == {"in_sync": True, "days_out_of_sync": [], "duplicate_keys": 0}
    assert checked(env, "backfill", "--resume", "last", "--yes")["state"] == "finished"
    assert [r["state"] for r in checked(env, "runs")["runs"]] == ["finished"]
    with env.pg() as conn:
        conn.execute("UPDATE conversations SET ended_at = NULL WHERE id IN (SELECT id FROM conversations "
                     "WHERE ended_at::date = %s LIMIT 2)", (DAYS[1],))
    daily = checked(env, "sync", "--day", day, "--lookback", "3", "--sweep", "2")
    assert daily["healed"] and daily["healed"][0]["stale_reasons"]["ended_at_reset"] == 2
    assert checked(env, "sync", *RANGE, "--only-drifted", "--dry-run")["checked"]
    assert checked(env, "sync", "--from", day, "--to", day)["rows_written"]
    history = checked(env, "history")
    assert {d["state"] for d in history["days"]} <= {"proven", "healed"}
    several = checked(env, "--customer", "alaska-air,other-air", "init")
    assert several["schema"] == "chsync.targets/2" and set(several["results"]) == {"alaska-air", "other-air"}
    proof = checked(env, "--customer", "alaska-air,other-air", "verify", *RANGE)
    assert [r["status"] for r in proof["customers"]] == ["ok", "ok"]


def test_generate_and_a_spec_file_of_two_tables_print_documents_their_schemas_accept(env, tmp_path):
    env.config = str(EXAMPLES / "shop_orders.toml")
    truth_file = tmp_path / "truth.json"
    truth = checked(env, "generate", "--scale", "0.005", "--truth", str(truth_file))
    assert json.loads(truth_file.read_text()) == truth and truth["schema"] == "chsync.generate/2"
    env.config = str(tmp_path / "two.toml")
    (tmp_path / "two.toml").write_text(TWO_TABLES)
    with env.pg() as conn:
        for name in ("alpha_rows", "beta_rows"):
            conn.execute(f"CREATE TABLE {name} (id bigint PRIMARY KEY, at timestamptz NOT NULL, v bigint NOT NULL)")
    shown = checked(env, "spec", "show")
    assert shown["schema"] == "chsync.tables/2" and [t["schema"] for t in shown["tables"]] == ["chsync.spec-show/2"] * 2
    check = checked(env, "spec", "check")
    assert check["command"] == "spec-check" and all(t["ok"] for t in check["tables"])
    assert checked(env, "init")["command"] == "init"
    assert checked(env, "--table", "alpha", "spec", "check")["schema"] == "chsync.spec-check/2"


def test_the_seeds_generator_prints_a_document_its_schema_accepts(env):
    truth = checked(env, "generate", "--scale", "0.002")
    assert truth["postgres"]["units"] == 88 and truth["breakdown"]["source"]


def test_embedded_up_status_and_down_print_documents_their_schemas_accept(env, tmp_path):
    workdir = str(tmp_path / "instance")
    up = checked(env, "embedded", "up", "--workdir", workdir)
    try:
        assert checked(env, "embedded", "status", "--workdir", workdir)["source"] == up["source"]
    finally:
        down = checked(env, "embedded", "down", "--workdir", workdir, "--purge")
    assert down["stopped"] and down["purged"]
    assert checked(env, "embedded", "status", "--workdir", workdir)["running"] is False
    assert "reason" in checked(env, "embedded", "down", "--workdir", workdir)


def test_the_python_api_returns_the_documents_the_cli_prints(env):
    make_drifted(env)
    from chsync import api
    result = api.verify(source=env.source, sink=env.sink_url, first=DAYS[0], last=DAYS[-1])
    assert result.exit_code == 1 and result.document["schema"] == "chsync.verify/2"
    assert_valid(dict(result.document), "api.verify's document")
    scope = api.scope(source=env.source, sink=env.sink_url, first=DAYS[0], last=DAYS[-1])
    assert scope.duplicate_keys == scope.document["sink"]["duplicate_keys"] > 0
    assert_valid(dict(scope.document), "api.scope's document")
