"""`chsync generate` on a spec that is not the seed's (chsync/demo/any_table.py), on the embedded Postgres +
chDB: scope finds exactly the drift the generator says it made, every backfill strategy repairs it, what
is not simple is refused before anything is touched, a seed gives the same data, and `chsync demo
--config` tells the story on the example table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from schema_check import assert_valid

from chsync.demo.any_table import generate
from chsync.demo.source_model import read_model
from chsync.errors import BadInput
from chsync.spec import load_specs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DAILY, MONTHLY = EXAMPLES / "shop_orders.toml", EXAMPLES / "shop_orders_monthly.toml"
DAY_FIELDS = ("source", "sink_rows", "sink_distinct", "duplicates", "missing", "stale", "changed")

# Unlike the example in other ways: a uuid key, a date day in New York time, a join through a joined
# table, NOT IN, NOT col, a nullable double and date, a text[] read from a base column, a bigint version.
TICKETS = """
[table]
key = "ticket_id"
day = "closed_on"
version = "revision"
day_timezone = "America/New_York"
[params]
queues = ["billing", "tech"]
[source]
from = "tickets t"
joins = ["LEFT JOIN agents a ON a.agent_id = t.agent_id", "LEFT JOIN teams tm ON tm.id = a.team_id"]
[[filter]]
reason = "reopened"
sql = "t.closed_on IS NOT NULL"
[[filter]]
reason = "queue_changed"
sql = "t.queue IN :queues"
[[filter]]
reason = "spam"
sql = "t.category NOT IN ('spam', 'test')"
[[filter]]
reason = "team_gone"
sql = "tm.active = true AND a.deleted_at IS NULL"
[[filter]]
reason = "internal"
sql = "NOT t.internal"
[columns]
ticket_id = { sql = "t.id", type = "uuid" }
agent_id  = { sql = "t.agent_id", type = "int" }
queue     = { sql = "t.queue", type = "text", low_cardinality = true }
score     = { sql = "t.score", type = "double", nullable = true }
effort    = { sql = "t.effort", type = "numeric(6,3)" }
due_on    = { sql = "t.due_on", type = "date", nullable = true }
team_name = { sql = "tm.name", type = "text" }
tags      = { sql = "t.tags", type = "text[]" }
closed_on = { sql = "t.closed_on", type = "date" }
notes     = { type = "text[]", child = { table = "ticket_notes", key = "ticket_id", value = "body" } }
revision  = { sql = "t.revision", type = "bigint" }
[sink]
table = "closed_tickets"
partition = "month"
"""


def _config(name: str, tmp_path: Path) -> Path:
    if name == "tickets":
        path = tmp_path / "tickets.toml"
        path.write_text(TICKETS)
        return path
    return {"daily": DAILY, "monthly": MONTHLY}[name]


@pytest.mark.parametrize("name", ["daily", "monthly", "tickets"])
def test_scope_finds_exactly_the_generated_drift(env, tmp_path, name):
    config = str(_config(name, tmp_path))
    truth_file = tmp_path / "truth.json"
    done = env.cli("--config", config, "generate", "--scale", "0.01", "--truth", str(truth_file), check=True)
    truth = json.loads(truth_file.read_text())
    assert f"{truth['totals']['source']:,}" in done.stdout
    spec = load_specs(config)[0]
    assert list(truth["stale_reasons"]) == spec.reasons and all(truth["stale_reasons"].values())
    drifted = {c for c, n in truth["changed_columns"].items() if n}
    # every compared column changed somewhere, but a date day column (it cannot change and keep its day)
    assert drifted == {c.name for c in spec.compared} - ({"closed_on"} if name == "tickets" else set())
    assert truth["totals"]["duplicates"] and truth["totals"]["missing"]
    breakdowns = []
    for mode in ([], ["--mode", "push"]):   # auto is pull here: the sink reads Postgres itself
        doc = env.cli_json("--config", config, "scope", "--from", truth["from"], "--to", truth["to"], *mode)
        assert {d["day"]: {k: d[k] for k in DAY_FIELDS} for d in doc["days"]} == truth["days"], mode
        assert doc["stale_reasons"] == truth["stale_reasons"], mode
        assert doc["changed_columns"] == {c: n for c, n in truth["changed_columns"].items() if n}, mode
        breakdowns.append(doc["breakdown"]["values"])
    # push counts the breakdown in its fingerprint's pass, pull with a query of its own: the same counts
    assert breakdowns[0] == breakdowns[1]
    if spec.breakdown:
        assert sum(v["source"] for v in breakdowns[1]) == truth["totals"]["source"]


@pytest.mark.parametrize("name, strategy", [("daily", "swap"), ("daily", "repair"), ("daily", "bulk"),
                                            ("daily", "per-day"), ("monthly", "swap")])
def test_every_strategy_repairs_the_generated_drift(env, name, strategy):
    config = str(_config(name, env.tmp))
    spec = load_specs(config)[0]
    with env.sink(spec) as sink:
        truth = generate(env.source, sink, spec, scale=0.005, seed=2)
    first, last = truth["from"], truth["to"]
    env.cli("--config", config, "backfill", "--from", first, "--to", last, "--strategy", strategy, "--yes",
            check=True)
    doc = env.cli_json("--config", config, "verify", "--from", first, "--to", last)
    assert doc["in_sync"] and doc["sink"]["duplicate_keys"] == 0
    assert doc["sink"]["rows"] == doc["sink"]["distinct"] == doc["source"]["rows"] == truth["totals"]["source"]
    with env.sink(spec) as sink:   # plain SQL on the sink: per day, one row per order the source has
        found = {day: (n, distinct) for day, n, distinct in sink.rows(
            f"SELECT toString(toDate(delivered_at)), count(), uniqExact(order_id) FROM {sink.table} "
            f"WHERE toDate(delivered_at) BETWEEN '{first}' AND '{last}' GROUP BY 1")}
    assert found == {day: (d["source"], d["source"]) for day, d in truth["days"].items()}


@pytest.mark.parametrize("name", ["daily", "monthly"])
def test_the_daily_job_heals_exactly_the_generated_drift(env, name):
    """Each drifted day is explained as it is healed: on day partitions from the rows read to swap it (an
    integer key here), on month partitions before its keys are repaired."""
    config = str(_config(name, env.tmp))
    spec = load_specs(config)[0]
    with env.sink(spec) as sink:
        truth = generate(env.source, sink, spec, scale=0.005, seed=3)
    first, last = truth["from"], truth["to"]
    doc = env.cli_json("--config", config, "sync", "--from", first, "--to", last, "--only-drifted")
    drifted = {day: d for day, d in truth["days"].items() if d["missing"] or d["stale"] or d["changed"]
               or d["duplicates"]}
    assert doc["drifted"] == sorted(drifted) and doc["left"] == []
    healed = {h["day"]: {k: h[k] for k in ("missing", "stale", "changed")} for h in doc["healed"]}
    assert healed == {day: {k: d[k] for k in ("missing", "stale", "changed")} for day, d in drifted.items()}
    reasons: dict[str, int] = {}
    for h in doc["healed"]:
        for reason, n in h["stale_reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    assert reasons == {r: n for r, n in truth["stale_reasons"].items() if n}
    assert env.cli_json("--config", config, "verify", "--from", first, "--to", last)["in_sync"]


def test_a_spec_that_is_not_simple_is_refused_and_nothing_is_created(env, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(DAILY.read_text().replace('sql = "o.paid"', 'sql = "o.total * 2 > 10"'))
    for command in (["generate"], ["demo", "--workdir", str(tmp_path / "demo")]):
        done = env.cli("--config", str(bad), *command)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "filter unpaid" in lines[0] and "o.total * 2 > 10" in lines[0], lines
        assert "generate only handles simple comparisons" in lines[0]
    with env.pg() as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
    assert not (tmp_path / "chdb").exists() and not (tmp_path / "demo").exists()


def test_a_table_it_did_not_make_is_not_replaced(env):
    with env.pg() as conn:
        conn.execute("CREATE TABLE shops (id text PRIMARY KEY, is_test boolean)")
        conn.execute("INSERT INTO shops VALUES ('mine', false)")
    done = env.cli("--config", str(DAILY), "generate", "--scale", "0.005")
    assert done.returncode == 3, done.stderr
    assert "shops" in done.stderr and "did not generate" in done.stderr
    with env.pg() as conn:
        assert conn.execute("SELECT id FROM shops").fetchall() == [("mine",)]
        assert conn.execute("SELECT to_regclass('orders')").fetchone() == (None,)


def test_the_same_seed_gives_the_same_data(env):
    spec = load_specs(DAILY)[0]
    columns = ", ".join(f"toString({c})" for c in spec.names)

    def snapshot(seed: int):
        with env.sink(spec) as sink:
            truth = generate(env.source, sink, spec, scale=0.003, seed=seed)
            rows = sorted(sink.rows(f"SELECT {columns} FROM {sink.table}"))
        with env.pg() as conn:
            tables = {t: conn.execute(f"SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM {t} x").fetchone()
                      for t in ("orders", "shops", "order_items")}
        return truth, rows, tables

    first, again, other = snapshot(7), snapshot(7), snapshot(8)
    assert first == again
    assert other[0]["days"] == first[0]["days"]          # the plan depends on the scale only
    assert other[1] != first[1] and other[2]["orders"] != first[2]["orders"]


@pytest.mark.parametrize("change, what", [
    (('sql = "o.paid"', 'sql = "o.paid OR o.is_gift"'), "filter unpaid"),
    (('sql = "o.paid"', "sql = \"o.channel LIKE 'w%'\""), "filter unpaid"),
    (('sql = "o.paid"', 'sql = "o.id <> 5"'), "the key column o.id"),
    (('sql = "o.shop_id", type', 'sql = "lower(o.shop_id)", type'), "column shop_id"),
    (("LEFT JOIN shops s ON s.id = o.shop_id", "JOIN shops s ON s.id = o.shop_id"), "join"),
    (("ON s.id = o.shop_id", "ON s.id = o.shop_id AND s.is_test"), "join"),
])
def test_what_is_not_simple(tmp_path, change, what):
    path = tmp_path / "spec.toml"
    path.write_text(DAILY.read_text().replace(*change))
    with pytest.raises(BadInput, match="generate only handles simple comparisons") as raised:
        read_model(load_specs(path)[0])
    assert what in str(raised.value)


def test_simple_forms_are_read_as_their_atoms(tmp_path):
    path = tmp_path / "spec.toml"
    predicate = "NOT o.paid AND o.kind NOT IN ('a', 'b') AND (o.rank = 2 AND o.weight <> 1.5) AND o.x IS NULL"
    path.write_text(DAILY.read_text().replace('sql = "o.paid"', f'sql = "{predicate}"'))
    model = read_model(load_specs(path)[0])
    unpaid = next(f for f in model.filters if f.reason == "unpaid")
    assert [(str(a.ref), a.op, a.value) for a in unpaid.atoms] == [
        ("o.paid", "=", False), ("o.kind", "not in", ("a", "b")), ("o.rank", "=", 2), ("o.weight", "<>", 1.5),
        ("o.x", "is null", None)]
    orders = model.tables["o"]
    assert [str(orders.columns[c]) for c in ("paid", "kind", "rank", "weight", "x")] == \
        ["boolean", "text", "bigint", "double", "text"]
    assert orders.primary_key == ("id",) and model.tables["s"].primary_key == ("id",)
    assert "x" in orders.nullable and "paid" not in orders.nullable


def test_demo_tells_the_story_on_the_example_table(tmp_path):
    workdir = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "chsync", "demo", "--config", str(DAILY), "--scale", "0.005",
                           "--workdir", str(workdir), "--json"], capture_output=True, text=True, timeout=600)
    try:
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        before, after = doc["before"], doc["after"]
        assert doc["table"] == "delivered_orders" and before["noun"] == ["order", "orders"]
        assert_valid(doc, "chsync demo --json")
        assert not before["in_sync"] and after["in_sync"] and after["sink"]["duplicate_keys"] == 0
        assert after["sink"]["rows"] == after["source"]["rows"] == doc["truth"]["totals"]["source"]
        assert [s["step"].split(" ")[0] for s in doc["timeline"]] == ["Start", "Generate", "Scope", "Sync", "Verify"]
        report = (workdir / "report.md").read_text()
        assert "Every day, every stale reason and every changed column is what the generator made." in report
        assert f"| Postgres orders (filter match) | {before['source']['rows']:,} |" in report
        assert "**Verify: in sync" in report
        for side in ("before", "after"):
            assert json.loads((workdir / side / "scope.json").read_text()) == doc[side]
            assert (workdir / side / "scope.html").read_text().startswith("<!DOCTYPE html>")
    finally:
        subprocess.run([sys.executable, "-m", "chsync", "embedded", "down", "--workdir", str(workdir)],
                       capture_output=True, timeout=120)
