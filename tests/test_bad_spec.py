"""A spec with a mistake is refused by every command that reads Postgres, before anything is written: one
line `chsync: error: ...` naming the mistake, exit 2, and no sink (no database, no table, no journal).

The source holds the example spec's tables (empty, as the generator creates them), so the example itself
passes `spec check`; each defect is one edit of it."""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path

import pytest

from chsync.demo import source_tables
from chsync.demo.source_model import read_model
from chsync.spec import load_specs

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "shop_orders.toml"
RANGE = ("--from", "2026-01-20", "--to", "2026-01-21")
READING = [["scope", *RANGE], ["diff", *RANGE], ["plan", *RANGE], ["verify", *RANGE]]
WRITING = [["spec", "check"], ["init"], ["sync", "--day", "2026-01-20"],
           ["backfill", *RANGE, "--strategy", "swap", "--yes"], ["migrate"]]

# name: (edits of the example's text, what the one line says)
DEFECTS = {
    "toml syntax": ([("[sink]", "[sink")], "is not valid TOML"),
    "unknown key": ([('version = "updated_at"', 'version = "updated_at"\ncolour = "blue"')], "unknown key 'colour'"),
    "misspelt key": ([('type = "text", nullable = true', 'type = "text", nulable = true')], "unknown key 'nulable'"),
    "unknown type": ([('type = "boolean"', 'type = "money"')], "unknown type 'money'"),
    "filter without sql": ([('reason = "unpaid"\nsql = "o.paid"', 'reason = "unpaid"')],
                           "filter 'unpaid' has no sql"),
    "column Postgres lacks": ([('sql = "o.note"', 'sql = "o.notes"')], "column o.notes does not exist"),
    "type Postgres does not give": ([('sql = "o.total", type = "numeric(12,2)"', 'sql = "o.total", type = "int"')],
                                    "column total is declared int but Postgres gives numeric"),
    "join not on a unique key": ([("ON s.id = o.shop_id", "ON s.is_test = o.paid")], "is not on a unique key of shops"),
    "{customer} missing from the sink database": (
        [('channels = ["web", "app"]', 'channels = ["web", "app"]\ncustomer = "acme"'),
         ("sql = \"o.currency = 'EUR'\"", "sql = \"o.currency = 'EUR' AND o.shop_id <> :customer\"")],
        "has no {customer}"),
}


@pytest.fixture
def shop(env):
    """The example's source tables, empty."""
    with env.pg() as conn:
        source_tables.create(conn, list(read_model(load_specs(EXAMPLE)[0]).tables.values()))
        conn.execute("CREATE TABLE order_items (order_id bigint, sku text)")
    return env


def test_the_example_itself_passes_spec_check(shop):
    done = shop.cli("--config", str(EXAMPLE), "spec", "check", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["ok"], done.stdout + done.stderr
    assert not (shop.tmp / "chdb").exists()   # spec check with a sink that does not exist creates none


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_every_command_refuses_the_defect_in_one_line_and_writes_nothing(shop, tmp_path, defect):
    edits, message = DEFECTS[defect]
    text = EXAMPLE.read_text()
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    # a spec that shares its sink database among customers may still be read; only writing is refused
    commands = WRITING if "customer" in defect else READING + WRITING
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda args: (args, shop.cli("--config", str(spec), *args)), commands))
    for args, done in runs:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2, f"{args}: exit {done.returncode}\n{done.stderr}"
        assert len(lines) == 1 and lines[0].startswith("chsync: error: ") and message in lines[0], (args, lines)
    assert not (shop.tmp / "chdb").exists(), "a refused spec created the sink"
    with shop.pg() as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"orders", "shops", "order_items"}
