"""Many customers in one run: each in its own sink database and journal, a summary row per customer,
and one customer's failure never stopping the others."""

from __future__ import annotations

import datetime as dt
import json

from builders import World
from conftest import seed_spec

from chsync.apply.journal import Journal

DAYS = (dt.date(2026, 1, 20), dt.date(2026, 1, 21))
RANGE = ("--from", DAYS[0].isoformat(), "--to", DAYS[1].isoformat())
BOTH = ("--customer", "alaska-air,other-air")


def _world(env) -> dict[str, int]:
    with env.pg() as conn:
        w = World(conn)
        for day in DAYS:
            w.add(day, n=6)
            w.add(day, n=4, customer="other-air", profile="p-other", second=500)
    return {"alaska-air": 12, "other-air": 8}


def _sink_rows(env, customer: str) -> int:
    with env.sink(seed_spec().with_customer(customer)) as sink:
        return sink.range_totals(*DAYS)["rows"]


def test_sync_and_verify_many_customers_each_in_its_own_database(env):
    expected = _world(env)
    env.cli(*BOTH, "init", check=True)
    done = env.cli_json(*BOTH, "sync", *RANGE)
    assert [r["customer"] for r in done["customers"]] == ["alaska-air", "other-air"]
    assert {r["customer"]: r["rows_written"] for r in done["customers"]} == expected
    assert {r["database"] for r in done["customers"]} == {"alaska_air_us_east_1", "other_air_us_east_1"}
    assert {c: _sink_rows(env, c) for c in expected} == expected
    proof = env.cli_json("--all-customers", "verify", *RANGE)
    assert {r["customer"]: r["status"] for r in proof["customers"]} == {"alaska-air": "ok", "other-air": "ok"}


def test_backfill_many_customers_journals_every_customer_day(env):
    _world(env)
    env.cli(*BOTH, "init", check=True)
    refused = env.cli(*BOTH, "backfill", *RANGE)
    assert refused.returncode == 3 and "--yes" in refused.stderr
    assert _sink_rows(env, "alaska-air") == 0  # nothing written without --yes
    done = env.cli_json(*BOTH, "backfill", *RANGE, "--strategy", "swap", "--yes")
    for customer in ("alaska-air", "other-air"):
        result = done["results"][customer]
        assert result["verify"]["in_sync"]
        with env.sink(seed_spec().with_customer(customer)) as sink:
            states = Journal(sink).day_states(result["run"])
        assert states == {day: "checked" for day in DAYS}, customer


def test_one_failing_customer_does_not_stop_the_others(env):
    expected = _world(env)
    env.cli(*BOTH, "init", check=True)
    done = env.cli("--customer", "alaska-air,ghost-air,other-air", "sync", *RANGE, "--json")
    assert done.returncode == 2  # the worst outcome: ghost-air is unknown
    rows = {r["customer"]: r for r in json.loads(done.stdout)["customers"]}
    assert rows["ghost-air"]["status"] == "failed" and "unknown customer 'ghost-air'" in rows["ghost-air"]["detail"]
    assert rows["alaska-air"]["status"] == rows["other-air"]["status"] == "ok"
    assert {c: _sink_rows(env, c) for c in expected} == expected


def test_customers_sharing_one_sink_database_are_refused(env, tmp_path):
    _world(env)
    config = tmp_path / "chsync.toml"
    config.write_text('[sink]\ndatabase = "shared_db"\n')
    done = env.cli("--config", str(config), *BOTH, "init")
    assert done.returncode == 2 and "share one sink database" in done.stderr
    with env.sink(seed_spec(database="shared_db")) as sink:
        assert not sink.table_exists()


def test_a_missing_sink_is_one_line_for_the_run_not_one_per_customer(env):
    _world(env)
    done = env.cli(*BOTH, "init", env={"CHSYNC_SINK": ""})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "no sink given" in done.stderr
