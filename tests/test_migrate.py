"""A schema change, on chDB and on the 3-shard cluster: a column added to Postgres and to the spec is named
by `spec check`, refused by sync until `chsync migrate` adds it to the sink (ON CLUSTER, local and
Distributed table), after which `plan` shows every day changed until a backfill makes it equal again. A
column dropped, renamed or retyped is named by `spec check` and refused by `migrate` with the steps to do
by hand, and the sink table is left as it was."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from conftest import drop_cluster_database

DAYS = [dt.date(2026, 1, 20), dt.date(2026, 1, 21), dt.date(2026, 1, 22)]
RANGE = ("--from", "2026-01-20", "--to", "2026-01-22")
COLUMNS = {
    "id": 'sql = "i.id", type = "bigint"',
    "at": 'sql = "i.at", type = "timestamptz"',
    "name": 'sql = "i.name", type = "text"',
    "n": 'sql = "i.n", type = "bigint"',
    "price": 'sql = "i.price", type = "numeric(8,2)", nullable = true',
    "v": 'sql = "i.v", type = "bigint"',
}


def spec_text(columns: dict[str, str]) -> str:
    body = "\n".join(f"{name} = {{ {decl} }}" for name, decl in columns.items())
    return (f'[table]\nkey = "id"\nday = "at"\nversion = "v"\n[source]\nfrom = "items i"\n[columns]\n{body}\n'
            f'[sink]\ndatabase = "shop"\ntable = "items"\n')


@pytest.fixture(params=["chdb", pytest.param("cluster", marks=pytest.mark.cluster),
                        pytest.param("replicas", marks=pytest.mark.cluster)])
def items(request, env, tmp_path):
    """A table of 12 items over 3 days, synced to the sink by a spec without `price`."""
    with env.pg() as conn:
        conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, at timestamptz NOT NULL, name text NOT NULL, "
                     "n integer NOT NULL DEFAULT 7, v bigint NOT NULL)")
        for i in range(12):
            conn.execute("INSERT INTO items (id, at, name, v) VALUES (%s, %s, %s, 1)",
                         (i, dt.datetime.combine(DAYS[i % 3], dt.time(i), dt.UTC), f"item {i}"))
    env.config = str(tmp_path / "v1.toml")
    (tmp_path / "v1.toml").write_text(spec_text({k: v for k, v in COLUMNS.items() if k != "price"}))
    if request.param != "chdb":
        cluster = request.getfixturevalue("local_cluster" if request.param == "cluster" else "replica_cluster")
        env.db = f"chsync_migrate_{os.getpid()}"
        env.sink_url = cluster.url(env.db, "replicated", extra="replicated=1")
        env.cluster, env.cluster_name, env.backend = cluster, "replicated", "cluster"
    env.cli("init", check=True)
    env.cli("sync", *RANGE, check=True)
    yield env
    if request.param != "chdb":
        drop_cluster_database(env)


def _one_error(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("chsync: error: "), done.stderr
    return lines[0]


def test_a_column_added_is_migrated_then_backfilled(items, tmp_path):
    with items.pg() as conn:
        conn.execute("ALTER TABLE items ADD COLUMN price numeric(8,2)")
        conn.execute("UPDATE items SET price = id * 1.5")
    items.config = str(tmp_path / "v2.toml")
    (tmp_path / "v2.toml").write_text(spec_text(COLUMNS))
    check = items.cli("spec", "check", "--json")
    assert check.returncode == 0, check.stderr
    assert [f["message"] for f in json.loads(check.stdout)["findings"]] == [
        "column price (numeric(8,2)) is in the spec but not in the sink table: `chsync migrate` adds it"]
    refused = items.cli("sync", *RANGE)
    assert refused.returncode == 4 and "lacks column(s) price" in _one_error(refused)
    assert "new columns: `chsync migrate`" in refused.stderr

    dry = items.cli_json("migrate", "--dry-run")
    assert dry["added"] == ["price"] and dry["dry_run"]
    add = "ADD COLUMN price Nullable(Decimal(8, 2)) AFTER n"
    if items.backend == "cluster":   # the local table ON CLUSTER (with replicas: on each shard's first
        # replica, replication carries it), the Distributed table node by node
        ports = items.cluster.tcp_ports
        local = [f"ALTER TABLE {items.db}.items ON CLUSTER replicated {add}"] if items.cluster.replicas == 1 else [
            f"-- on shard 127.0.0.1:{port}\nALTER TABLE {items.db}.items {add}" for port in ports[::2]]
        assert dry["statements"] == local + [
            f"-- on shard 127.0.0.1:{port}\nALTER TABLE {items.db}.items_d {add}" for port in ports]
    else:
        assert dry["statements"] == [f"ALTER TABLE shop.items {add}"]
    assert items.cli_json("migrate", "--dry-run")["statements"] == dry["statements"]   # nothing ran
    assert items.cli_json("migrate")["statements"] == dry["statements"]
    assert items.cli_json("migrate")["statements"] == []                                  # nothing left to add
    if items.backend == "cluster":   # every replica of every shard
        for node in range(items.cluster.node_count):
            for table in ("items", "items_d"):
                assert items.cluster.client(node).execute(
                    f"SELECT type FROM system.columns WHERE database = '{items.db}' AND table = '{table}' "
                    "AND name = 'price'") == [("Nullable(Decimal(8, 2))",)], (node, table)
    assert json.loads(items.cli("spec", "check", "--json").stdout)["findings"] == []

    plan = items.cli_json("plan", *RANGE, "--strategy", "swap")
    assert [(d["day"], d["drift"]["changed"], d["action"] != "skip") for d in plan["days"]] == \
        [(d.isoformat(), 4, True) for d in DAYS]
    result = items.cli_json("backfill", *RANGE, "--strategy", "swap", "--yes")
    assert result["verify"]["in_sync"]
    verify = items.cli_json("verify", *RANGE)
    assert verify["in_sync"] and verify["sink"]["rows"] == verify["source"]["rows"] == 12
    assert all(d["action"] == "skip" for d in items.cli_json("plan", *RANGE, "--strategy", "swap")["days"])


# Each a change of the spec alone (Postgres gives what it declares): what migrate cannot do by adding.
REFUSED = [
    ("dropped", lambda c: {k: v for k, v in c.items() if k != "name"},
     "column name is in the sink table but not in the spec (dropped or renamed)"),
    ("renamed", lambda c: {("title" if k == "name" else k): v for k, v in c.items()},
     "column name is in the sink table but not in the spec (dropped or renamed)"),
    ("retyped", lambda c: {**c, "n": 'sql = "i.n::text", type = "text"'},   # (a narrower int: Int64 holds it)
     "column n is declared text but the sink table has Int64"),
]


@pytest.mark.parametrize("items", ["chdb"], indirect=True)   # the refusal is decided before the sink is touched
def test_a_column_dropped_renamed_or_retyped_is_refused_with_the_manual_steps(items, tmp_path):
    before = sink_columns(items)
    assert list(before) == ["id", "at", "name", "n", "v"]
    for change, edit, named in REFUSED:
        items.config = str(tmp_path / f"{change}.toml")
        (tmp_path / f"{change}.toml").write_text(spec_text(edit({k: v for k, v in COLUMNS.items() if k != "price"})))
        check = items.cli("spec", "check", "--json")
        assert check.returncode == 2 and named in _one_error(check), change
        assert {"level": "error", "message": named} in json.loads(check.stdout)["findings"]
        done = items.cli("migrate", *(["--dry-run"] if change == "renamed" else []))
        line = _one_error(done)
        assert done.returncode == 2 and named in line and "migrate only adds columns" in line, change
        assert "By hand: rename or drop the column in the sink (ALTER TABLE" in line and "then backfill" in line
        assert sink_columns(items) == before, change


def sink_columns(env) -> dict[str, str]:
    """{column: type} of the sink table, read without chsync."""
    sql = "SELECT name, type FROM system.columns WHERE database = '{}' AND table = 'items'"
    if env.backend == "cluster":
        return dict(env.cluster.client().execute(sql.format(env.db)))
    with env.sink() as sink:
        return dict(sink.rows(sql.format("shop")))
