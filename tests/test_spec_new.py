"""`chsync spec new` writes a spec from the catalogs that `spec check` passes and every command then runs on,
unedited: for a Postgres table with a column of every type (those chsync cannot compare left commented out
with the reason), and for the ClickHouse table an old job made (its wider types, Enum8, a Nullable column
for a NOT NULL one, its ORDER BY and the America/New_York days it is partitioned by). Bad input is one
line, exit 2, and no file written."""

from __future__ import annotations

import json
import tomllib

import pytest

PG = """
CREATE TYPE mood AS ENUM ('ok', 'it''s');
CREATE TABLE public.orders (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, updated_at timestamp NOT NULL,
  qty smallint, price numeric(12,2), ratio real, score double precision, payload jsonb, doc json, raw bytea,
  ip inet, t time, dur interval, m mood, code varchar(5), pad char(3), flag boolean NOT NULL, note text,
  total numeric, ids int[], tags text[], grid int[][], nets inet[]);
CREATE TABLE public.order_labels (order_id bigint REFERENCES orders(id), label text);
INSERT INTO orders VALUES
  (1, '2026-01-20 03:00+00', '2026-01-20 10:00', 3, 1.50, 0.5, -0.0, '{"b":1,"a":2}', '{"b":1}', '\\x00ff',
   '10.0.0.1', '12:00', '1 day', 'it''s', 'abc', 'x', true, 'n', 1.5, '{1,NULL,2}', '{x,NULL}', NULL, NULL),
  (2, '2026-01-21 23:59:59.999+00', '2026-01-21 10:00', NULL, NULL, NULL, NULL, '[]', NULL, NULL, NULL, NULL, '0',
   NULL, '', NULL, false, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, '2026-01-21 04:59:59+00', '2026-01-21 11:00', -32768, -9999999999.99, 1e30, 1e300, 'null', '[]', '',
   '::1', '23:59:59.999999', '-1 days +02:00:00', 'ok', 'héllo', 'é', true, '', 0, '{}', '{}', NULL, NULL);
INSERT INTO order_labels VALUES (1, 'a'), (1, 'b'), (3, 'a');
"""
RANGE = ("--from", "2026-01-19", "--to", "2026-01-22")


@pytest.fixture
def orders(env):
    with env.pg() as conn:
        conn.execute(PG)
    return env


def _new(env, tmp_path, *args: str, expect: int = 0):
    out = tmp_path / "orders.toml"
    done = env.cli("spec", "new", "--from", "public.orders", *args, "-o", str(out))
    assert done.returncode == expect, done.stderr
    return out, done


def _runs_unedited(env, config) -> dict:
    env.config = str(config)
    check = env.cli("spec", "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout + check.stderr
    env.cli("init", check=True)
    env.cli("sync", *RANGE, check=True)
    doc = env.cli_json("verify", *RANGE)
    assert doc["in_sync"] and doc["source"]["rows"] == doc["sink"]["rows"] == 3
    return doc


def test_a_spec_from_the_catalog_checks_syncs_and_verifies_unedited(orders, tmp_path):
    config, done = _new(orders, tmp_path, "--day", "created_at", "--child", "labels=public.order_labels.label")
    assert "3 column(s) left commented out: total, grid, nets" in done.stderr
    text = config.read_text()
    spec = tomllib.loads(text)
    assert (spec["table"]["key"], spec["table"]["day"], spec["table"]["version"]) == ("id", "created_at", "updated_at")
    types = {name: c["type"] for name, c in spec["columns"].items()}
    assert types == {"id": "bigint", "created_at": "timestamptz", "updated_at": "timestamp", "qty": "smallint",
                     "price": "numeric(12,2)", "ratio": "real", "score": "double", "payload": "jsonb", "doc": "json",
                     "raw": "bytea", "ip": "inet", "t": "time", "dur": "interval", "m": "enum", "code": "varchar(5)",
                     "pad": "char(3)", "flag": "boolean", "note": "text", "ids": "int[]", "tags": "text[]",
                     "labels": "text[]"}
    assert spec["columns"]["labels"]["child"] == {"table": "public.order_labels", "key": "order_id", "value": "label"}
    assert spec["columns"]["note"].get("nullable") and not spec["columns"]["flag"].get("nullable")
    for name in ("total", "grid", "nets"):   # each commented out, saying why
        assert any(line.startswith(f"# {name}: ") for line in text.splitlines()), name
    _runs_unedited(orders, config)


OLD_JOB = ("CREATE TABLE {db}.orders (id Int64, created_at DateTime('America/New_York'), updated_at DateTime, "
           "qty Nullable(Int32), price Nullable(Decimal(18, 2)), ratio Nullable(Float64), score Nullable(Float64), "
           "payload Nullable(String), doc Nullable(String), raw Nullable(String), ip Nullable(String), "
           "t Nullable(String), dur Nullable(String), m Nullable(Enum8('ok' = 1, 'it''s' = 2)), "
           "code Nullable(String), pad Nullable(String), flag Nullable(UInt8), note Nullable(String), "
           "ids Array(Nullable(Int32)), tags Array(String){extra}) "
           "ENGINE = ReplacingMergeTree(updated_at) PARTITION BY toYYYYMMDD(created_at) "
           "ORDER BY (id)")


def test_the_old_jobs_table_is_adopted_with_its_zone_and_order(orders, tmp_path):
    with orders.sink() as sink:
        sink.execute("CREATE DATABASE IF NOT EXISTS analytics")
        sink.execute(OLD_JOB.format(db="analytics", extra=""))
    config, done = _new(orders, tmp_path, "--sink-table", "analytics.orders")
    text = config.read_text()
    spec = tomllib.loads(text)
    assert spec["table"]["day"] == "created_at"                    # the partition column
    assert spec["table"]["day_timezone"] == "America/New_York"     # the zone its days are cut in
    assert spec["sink"] == {"database": "analytics", "table": "orders", "partition": "day", "order_by": ["id"]}
    doc = _runs_unedited(orders, config)
    # days in New York: 03:00 UTC on the 20th is the 19th there, 04:59 UTC on the 21st the 20th
    assert {d["day"]: d["source"] for d in doc["days"] if d["source"]} == \
        {"2026-01-19": 1, "2026-01-20": 1, "2026-01-21": 1}
    with orders.sink() as sink:   # a NULL where Postgres has a value: drift, on that row's day
        sink.execute("ALTER TABLE analytics.orders UPDATE flag = NULL WHERE id = 3 SETTINGS mutations_sync = 1")
    diff = orders.cli_json("diff", *RANGE, expect=1)   # the adopted Enum, DateTimes and zone explain nothing else
    assert diff["samples"]["changed"] == [{"id": "3", "columns": ["flag"]}], diff["samples"]


def test_a_sink_column_postgres_lacks_is_named_for_the_user_to_map(orders, tmp_path):
    with orders.sink() as sink:
        sink.execute("CREATE DATABASE IF NOT EXISTS legacy")
        sink.execute(OLD_JOB.format(db="legacy", extra=", region String"))
    config, _ = _new(orders, tmp_path, "--sink-table", "legacy.orders")
    assert "# region: in the sink table (String) but Postgres has no column of that name" in config.read_text()
    orders.config = str(config)
    check = orders.cli("spec", "check")
    assert check.returncode == 2 and "column region is in the sink table but not in the spec" in check.stderr


@pytest.mark.parametrize("args, message", [
    (("--from", "public.nope"), "Postgres has no table 'public.nope'"),
    (("--from", "public.order_labels"), "public.order_labels has no primary key"),
    (("--from", "public.orders", "--day", "note"), "--day 'note' must be a NOT NULL column of type"),
    (("--from", "public.orders"), "name the day column with --day"),
    (("--from", "public.orders", "--day", "created_at", "--child", "labels=order_labels"),
     "--child 'labels=order_labels': write it as NAME=TABLE.COLUMN"),
])
def test_bad_input_is_one_line_and_no_file(orders, tmp_path, args, message):
    out = tmp_path / "x.toml"
    done = orders.cli("spec", "new", *args, "-o", str(out))
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, \
        done.stderr
    assert not out.exists()


def test_an_existing_file_is_never_overwritten(orders, tmp_path):
    out = tmp_path / "mine.toml"
    out.write_text("# mine\n")
    done = orders.cli("spec", "new", "--from", "public.orders", "--day", "created_at", "-o", str(out))
    assert done.returncode == 2 and "exists" in done.stderr and out.read_text() == "# mine\n"
