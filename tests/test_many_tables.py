"""Several tables in one spec file ([[tables]]): every table by default with one summary row each and the
worst exit code, --table picks one, and each table has its own journal runs and its own lock (a crashed
backfill of one leaves the other free, and `runs` / `--resume last` are per table)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

RANGE = ("--from", "2026-01-20", "--to", "2026-01-21")
SPEC = """
[params]
min_v = 0

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
note = { sql = "a.note", type = "text" }
v = { sql = "a.v", type = "bigint" }
[tables.sink]
database = "many"
table = "alpha"

[[tables]]
name = "beta"
[tables.table]
key = "id"
day = "at"
version = "v"
[tables.source]
from = "beta_rows b"
[[tables.filter]]
reason = "old_version"
sql = "b.v >= :min_v"
[tables.columns]
id = { sql = "b.id", type = "uuid" }
at = { sql = "b.at", type = "timestamptz" }
amount = { sql = "b.amount", type = "numeric(10,2)" }
v = { sql = "b.v", type = "bigint" }
[tables.sink]
database = "many"
table = "beta"
"""


@pytest.fixture
def many(env, tmp_path):
    with env.pg() as conn:
        conn.execute("CREATE TABLE alpha_rows (id bigint PRIMARY KEY, at timestamptz NOT NULL, note text NOT NULL, "
                     "v bigint NOT NULL)")
        conn.execute("CREATE TABLE beta_rows (id uuid PRIMARY KEY, at timestamptz NOT NULL, amount numeric(10,2) "
                     "NOT NULL, v bigint NOT NULL)")
        for i in range(6):
            at = dt.datetime(2026, 1, 20 + i % 2, i, tzinfo=dt.UTC)
            conn.execute("INSERT INTO alpha_rows VALUES (%s, %s, %s, 1)", (i, at, f"note {i}"))
            conn.execute("INSERT INTO beta_rows VALUES (%s, %s, %s, 1)", (str(uuid.UUID(int=i + 1)), at, i * 2.5))
    env.config = str(tmp_path / "many.toml")
    (tmp_path / "many.toml").write_text(SPEC)
    return env


def _summary(env, *args, expect: int) -> dict[str, dict]:
    """{table: its summary row} of a many-table run."""
    done = env.cli(*args, "--json")
    assert done.returncode == expect, done.stderr
    doc = json.loads(done.stdout)
    return {row["table"]: row for row in doc["customers"]}


def test_every_table_by_default_one_row_each_and_the_worst_exit_code(many):
    assert {t: r["status"] for t, r in _summary(many, "init", expect=0).items()} == {"alpha": "ok", "beta": "ok"}
    synced = _summary(many, "sync", *RANGE, expect=0)
    assert {t: (r["status"], r["rows_written"], r["database"]) for t, r in synced.items()} == \
        {"alpha": ("ok", 6, "many"), "beta": ("ok", 6, "many")}
    only = many.cli_json("--table", "beta", "verify", *RANGE)       # one table: its own document
    assert only["in_sync"] and only["source"]["rows"] == 6 and only["sink_table"] == "many.beta"
    wrong = many.cli("--table", "gamma", "verify", *RANGE)
    assert wrong.returncode == 2 and "--table gamma: the config declares alpha, beta" in wrong.stderr

    with many.pg() as conn:
        conn.execute("UPDATE beta_rows SET amount = amount + 1 WHERE v = 1 AND amount > 5")
    rows = _summary(many, "verify", *RANGE, expect=1)
    assert {t: (r["status"], r["exit_code"]) for t, r in rows.items()} == \
        {"alpha": ("ok", 0), "beta": ("out-of-sync", 1)}
    with many.pg() as conn:
        conn.execute("ALTER TABLE alpha_rows RENAME COLUMN note TO memo")
    rows = _summary(many, "verify", *RANGE, expect=2)                # bad input outranks out of sync
    assert {t: (r["status"], r["exit_code"]) for t, r in rows.items()} == \
        {"alpha": ("failed", 2), "beta": ("out-of-sync", 1)}
    assert "a.note" in rows["alpha"]["detail"]
    text = many.cli("verify", *RANGE)
    assert text.returncode == 2
    assert [line.split("|")[1].strip() for line in text.stdout.splitlines() if line.startswith("| ")][1:] == \
        ["alpha", "beta"]


def test_each_table_has_its_own_lock_runs_and_resume(many):
    many.cli("init", check=True)
    many.cli("sync", *RANGE, check=True)
    with many.pg() as conn:
        conn.execute("UPDATE alpha_rows SET note = note || '!'")
        conn.execute("UPDATE beta_rows SET amount = amount + 1")
    crashed = many.cli("--table", "beta", "backfill", *RANGE, "--strategy", "swap", "--yes", "--workers", "1",
                       env={"CHSYNC_FAULT": "kill:staged:2026-01-21"})
    assert crashed.returncode == -9, crashed.stderr
    # beta's lock is held by the dead run; alpha's is free
    alpha = many.cli_json("--table", "alpha", "backfill", *RANGE, "--strategy", "swap", "--yes")
    assert alpha["verify"]["in_sync"]
    held = many.cli("--table", "beta", "backfill", *RANGE, "--strategy", "swap", "--yes")
    assert held.returncode == 3 and "many.beta is locked by" in held.stderr and "--take-over" in held.stderr
    runs = {t: many.cli_json("--table", t, "runs")["runs"] for t in ("alpha", "beta")}
    assert [r["state"] for r in runs["alpha"]] == ["finished"] and runs["alpha"][0]["run"] == alpha["run"]
    assert len(runs["beta"]) == 1 and runs["beta"][0]["state"] != "finished" and runs["beta"][0]["days_done"] == 1
    ambiguous = many.cli("backfill", "--resume", "last", "--yes")
    assert ambiguous.returncode == 2 and "use --table NAME" in ambiguous.stderr
    resumed = many.cli_json("--table", "beta", "backfill", "--resume", "last", "--take-over", "--yes")
    assert resumed["run"] == runs["beta"][0]["run"] and resumed["verify"]["in_sync"]
    assert [r["state"] for r in many.cli_json("--table", "beta", "runs")["runs"]] == ["finished"]
    rows = _summary(many, "verify", *RANGE, expect=0)
    assert {t: r["status"] for t, r in rows.items()} == {"alpha": "ok", "beta": "ok"}
