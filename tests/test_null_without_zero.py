"""A NULL in a column the spec declares non-nullable, of a type with no honest zero (uuid, date,
timestamptz): the day is refused in one line naming the key and the column (exit 4), in push and in pull
mode, and the sink's day is left as it was. (Types with a zero read NULL as it: tests/test_spec_types.py.)"""

from __future__ import annotations

import datetime as dt
import json

import pytest

SPEC = """
[table]
key = "id"
day = "at"
version = "v"
[source]
from = "things t"
[columns]
id = { sql = "t.id", type = "bigint" }
at = { sql = "t.at", type = "timestamptz" }
ref = { sql = "t.ref", type = "uuid" }
due = { sql = "t.due", type = "date" }
seen = { sql = "t.seen", type = "timestamptz" }
v = { sql = "t.v", type = "bigint" }
[sink]
database = "things"
table = "things"
"""
DAY = dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC)
VALUES = {"ref": "gen_random_uuid()", "due": "'2026-02-01'", "seen": "'2026-01-20 12:00+00'"}


@pytest.fixture
def things(env, tmp_path):
    with env.pg() as conn:
        conn.execute("CREATE TABLE things (id bigint PRIMARY KEY, at timestamptz NOT NULL, ref uuid, due date, "
                     "seen timestamptz, v bigint NOT NULL)")
        for i in range(4):
            conn.execute("INSERT INTO things VALUES (%s, %s, gen_random_uuid(), '2026-02-01', %s, 1)", (i, DAY, DAY))
    env.config = str(tmp_path / "things.toml")
    (tmp_path / "things.toml").write_text(SPEC)
    env.cli("init", check=True)
    env.cli("sync", "--day", "2026-01-20", check=True)
    return env


def test_the_day_is_refused_naming_the_key_and_left_untouched(things):
    for column in ("ref", "due", "seen"):
        with things.pg() as conn:
            conn.execute(f"UPDATE things SET {column} = NULL, v = 2 WHERE id = 2")
        for mode in ("push", "pull"):
            done = things.cli("-q", "sync", "--day", "2026-01-20", "--mode", mode)
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            assert done.returncode == 4 and len(lines) == 1, (column, mode, done.stderr)
            assert f"id 2 has no {column} (NULL) in Postgres" in lines[0] and "nullable = true" in lines[0], mode
        doc = json.loads(things.cli("verify", "--from", "2026-01-20", "--to", "2026-01-20", "--json").stdout)
        assert doc["sink"]["rows"] == 4 and not doc["in_sync"]      # the day as it was: v = 1 everywhere
        with things.pg() as conn:
            conn.execute(f"UPDATE things SET {column} = {VALUES[column]} WHERE id = 2")
