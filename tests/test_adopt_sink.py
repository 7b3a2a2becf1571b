"""The ClickHouse table an old job made, adopted as it is: its time columns as DateTime (in the server's
zone), DateTime('UTC'), DateTime64(0|3|6[, zone]); partitions cut in another zone when the spec says so.
A type chsync cannot compare exactly, or a day zone that does not match, is one line (exit 2) and nothing
is written."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources

import pytest
from builders import World, source_ids

D1, D2 = dt.date(2026, 1, 20), dt.date(2026, 1, 21)
COLUMNS = ("conversation_id UUID, customer_id String, profile_id String, usecase_id String, agent_user_id String, "
           "source_type String, started_at {t}, ended_at {t}, labels Array(String), updated_at {t}")


def _table(env, db: str, time_type: str, partition: str = "toYYYYMMDD(ended_at)") -> None:
    with env.sink() as sink:
        sink.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
        sink.execute(f"CREATE TABLE {db}.conversation_with_labels ({COLUMNS.format(t=time_type)}) "
                     f"ENGINE = ReplacingMergeTree(updated_at) PARTITION BY {partition} ORDER BY conversation_id")


def _overlay(tmp_path, db: str) -> str:
    cfg = tmp_path / f"{db}.toml"
    cfg.write_text(f"[sink]\ndatabase = '{db}'\n")
    return str(cfg)


def _full_spec(tmp_path, db: str, zone: str) -> str:
    """The seed's own spec, with the sink database and the day zone of an existing table."""
    text = resources.files("chsync.spec").joinpath("seed.toml").read_text()
    text = text.replace('version = "updated_at"', f'version = "updated_at"\nday_timezone = "{zone}"', 1)
    text = re.sub(r'database = "[^"]*"', f'database = "{db}"', text)
    cfg = tmp_path / "full.toml"
    cfg.write_text(text)
    return str(cfg)


@pytest.fixture
def world(env):
    with env.pg() as conn:
        w = World(conn)
        w.add(D1, n=4, second=3600)          # 01:00 UTC: the evening before in New York
        w.add(D1, n=3, second=18 * 3600)     # 18:00 UTC
        w.add(D2, n=5, second=12 * 3600 + 7)
        conn.execute("UPDATE conversations SET ended_at = ended_at + interval '123456 microseconds'")
    return env


@pytest.mark.parametrize("time_type", ["DateTime", "DateTime('UTC')", "DateTime64(0)", "DateTime64(3)",
                                       "DateTime64(6, 'UTC')", "DateTime64(6)"])
def test_an_existing_time_type_is_adopted_and_every_day_ends_exact(world, tmp_path, time_type):
    db = "adopt_" + re.sub(r"\W", "", time_type).lower()
    _table(world, db, time_type)
    config = _overlay(tmp_path, db)
    world.cli("--config", config, "sync", "--from", D1.isoformat(), "--to", D2.isoformat(), check=True)
    assert world.cli("--config", config, "verify", "--from", D1.isoformat(), "--to", D2.isoformat()).returncode == 0
    with world.pg() as conn, world.sink() as sink:
        for day in (D1, D2):
            ids = {r[0] for r in sink.rows(f"SELECT toString(conversation_id) FROM {db}.conversation_with_labels "
                                           f"WHERE toDate(ended_at, 'UTC') = '{day}'")}
            assert ids == source_ids(conn, day), day
        digits = 6 if "64(6" in time_type else 3 if "64(3" in time_type else 0
        stored = [r[0] for r in sink.rows(f"SELECT toString(ended_at) FROM {db}.conversation_with_labels")]
        if digits:   # kept to the table's digits, and not all zeros (the source has microseconds)
            fractions = {t.rpartition(".")[2] for t in stored}
            assert {len(f) for f in fractions} == {digits} and fractions != {"0" * digits}, stored[:3]
        else:
            assert not any("." in t for t in stored), stored[:3]
    # the lookback compares at the table's own precision: a re-run finds nothing drifted
    again = world.cli_json("--config", config, "sync", "--day", D2.isoformat(), "--lookback", "1")
    assert again["drifted"] == []


@pytest.mark.parametrize("time_type, message", [
    ("DateTime64(2)", "column started_at has type DateTime64(2), expected DateTime64(p[, 'zone']) with p = 0, 3 or 6"),
    ("Int64", "column started_at has type Int64, expected"),
])
def test_a_time_type_chsync_cannot_compare_is_one_line_exit_2_and_nothing_written(world, tmp_path, time_type,
                                                                                 message):
    db = "refuse_" + re.sub(r"\W", "", time_type).lower()
    _table(world, db, time_type, partition="tuple()" if time_type == "Int64" else "toYYYYMMDD(ended_at)")
    done = world.cli("--config", _overlay(tmp_path, db), "sync", "--day", D1.isoformat())
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr
    with world.sink() as sink:
        assert sink.rows(f"SELECT count() FROM {db}.conversation_with_labels") == [(0,)]


def test_partitions_in_another_zone_need_that_day_timezone_then_work_in_its_days(world, tmp_path):
    db = "adopt_ny_alaska_air"    # the full spec's database is per customer: adopt_ny_{customer}
    _table(world, db, "DateTime('America/New_York')")
    refused = world.cli("--config", _overlay(tmp_path, db), "sync", "--day", D1.isoformat())
    assert refused.returncode == 2, refused.stderr
    assert 'set [table] day_timezone = "America/New_York"' in refused.stderr
    assert "its type's time zone America/New_York" in refused.stderr

    config = _full_spec(tmp_path, "adopt_ny_{customer}", "America/New_York")
    ny_d0, ny_d1 = D1 - dt.timedelta(days=1), D1    # 01:00 UTC on D1 is the evening of D1 - 1 in New York
    world.cli("--config", config, "sync", "--from", ny_d0.isoformat(), "--to", D2.isoformat(), check=True)
    doc = world.cli_json("--config", config, "verify", "--from", ny_d0.isoformat(), "--to", D2.isoformat())
    assert [(d["day"], d["source"]) for d in doc["days"]] == [(ny_d0.isoformat(), 4), (ny_d1.isoformat(), 3),
                                                              (D2.isoformat(), 5)]
    with world.sink() as sink:   # each partition holds exactly its New York day
        parts = dict(sink.rows(f"SELECT toYYYYMMDD(ended_at), count() FROM {db}.conversation_with_labels "
                               "GROUP BY 1 ORDER BY 1"))
    assert parts == {int(f"{ny_d0:%Y%m%d}"): 4, int(f"{ny_d1:%Y%m%d}"): 3, int(f"{D2:%Y%m%d}"): 5}
