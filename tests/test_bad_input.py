"""Bad input: one clear line on stderr, the documented exit code, and nothing written."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from builders import World

D1 = dt.date(2026, 1, 20)


@pytest.fixture
def synced(env):
    with env.pg() as conn:
        World(conn).add(D1, n=6)
    env.cli("init", check=True)
    env.cli("sync", "--day", "2026-01-20", check=True)
    return env


def _snapshot(env):
    with env.sink() as sink:
        return sorted(sink.rows(f"SELECT toString(conversation_id), updated_at FROM {sink.table}"))


def _one_error_line(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


CASES = [
    (["--customer", "nobody-air", "sync", "--day", "2026-01-20"], 2, "unknown customer 'nobody-air'"),
    (["--customer", "x'; DROP TABLE t;--", "sync", "--day", "2026-01-20"], 2, "is not a valid name"),
    (["sync", "--day", "2026-13-01"], 2, "'2026-13-01' is not a date: use YYYY-MM-DD"),
    (["sync", "--from", "2026-01-21", "--to", "2026-01-20"], 2, "is after --to"),
    (["verify", "--from", "20260120", "--to", "2026-01-20"], 2, "is not a date"),
    (["sync"], 2, "give --day D or both --from D and --to D"),
    (["--source", "mysql://root@localhost/x", "sync", "--day", "2026-01-20"], 2, "is not a Postgres URL"),
    (["--sink", "ftp://host/x", "sync", "--day", "2026-01-20"], 2, "unknown scheme 'ftp'"),
    (["--source", "postgresql://postgres:hunter2@127.0.0.1:1/nothing", "sync", "--day", "2026-01-20"], 4,
     "cannot connect to Postgres at postgresql://postgres:***@127.0.0.1:1/nothing"),
    (["sync", "--from", "1900-01-01", "--to", "2100-01-01"], 2, "split it"),
    (["sync", "--day", "2026-01-20", "--from", "2026-01-20", "--to", "2026-01-20"], 2, "not both"),
    (["scope", "--from", "2026-02-30", "--to", "2026-03-01"], 2, "'2026-02-30' is not a date"),
    (["--source", "postgresql//postgres@127.0.0.1/x", "sync", "--day", "2026-01-20"], 2, "is not a Postgres URL"),
    (["--source", "postgresql://postgres@127.0.0.1:port/x", "sync", "--day", "2026-01-20"], 2, "invalid port"),
    (["--sink", "chdb://", "sync", "--day", "2026-01-20"], 2, "is not a chDB URL"),
    (["--sink", "clickhouse://u:hunter2@127.0.0.1:90x/db", "init"], 2, "invalid port"),
    (["--sink", "clickhouse://u:hunter2@127.0.0.1:9000/db?clustr=c", "init"], 2, "unknown parameter(s) clustr"),
    (["--sink", "clickhouse://u:hunter2@127.0.0.1:9000/my-db", "init"], 2, "'my-db' is not a plain identifier"),
    (["--sink", "clickhouse://u:hunter2@127.0.0.1:1/db", "sync", "--day", "2026-01-20"], 4,
     "cannot reach ClickHouse at clickhouse://u:***@127.0.0.1:1/db"),
    (["backfill", "--from", "2026-01-20", "--to", "2026-01-20", "--strategy", "swap", "--resume", "nope", "--yes"],
     3, "no backfill run 'nope'"),
]


@pytest.mark.parametrize("args, code, message", CASES, ids=[c[2][:30] for c in CASES])
def test_bad_input_one_line_exit_code_nothing_written(synced, args, code, message):
    before = _snapshot(synced)
    done = synced.cli(*args)
    assert done.returncode == code, done.stderr
    line = _one_error_line(done)
    assert line.startswith("chsync: error: ") and message in line
    assert "hunter2" not in done.stderr + done.stdout
    assert _snapshot(synced) == before


@pytest.mark.parametrize("toml, message", [
    ("[filter]\ncustomer = 'alaska-air'\ncolour = 'blue'\n", "unknown key filter.colour"),
    ("[filter]\nsource_types = 'voice'\n", "filter.source_types must be a list"),
    ("[sink]\ndatabase = 'a`b'\n", "is not a plain identifier"),
    ("[filter\ncustomer = 1\n", "is not valid TOML"),
    ("[guards]\nmin_shrink_ratio = 7\n", "must be between 0 and 1"),
    ("customer = 'alaska-air'\n", "must be a section"),
    ("[filter]\nsource_types = []\n", "non-empty list"),
    ("[filter]\ncustomer = \"a'; drop\"\n", "is not a valid name"),
    ("[sink]\nsharding_key = 'sipHash64(x)'\n", "sharding_key must be one of"),
    ("[filter]\nrequire_agent_assistance = 'yes'\n", "must be a bool"),
])
def test_bad_config(synced, tmp_path, toml, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml)
    before = _snapshot(synced)
    done = synced.cli("--config", str(cfg), "sync", "--day", "2026-01-20")
    assert done.returncode == 2
    assert message in _one_error_line(done)
    assert _snapshot(synced) == before


def test_config_file_missing(synced, tmp_path):
    done = synced.cli("--config", str(tmp_path / "nope.toml"), "scope", "--from", "2026-01-20", "--to", "2026-01-20")
    assert done.returncode == 2 and "not found: check --config" in _one_error_line(done)


def test_a_chdb_directory_held_by_another_process_is_refused_naming_it(synced):
    with synced.sink() as held:
        done = synced.cli("sync", "--day", "2026-01-20")
        assert done.returncode == 3
        line = _one_error_line(done)
        assert f"pid {os.getpid()}" in line and "one process at a time" in line
        assert held.rows(f"SELECT count() FROM {held.table}")[0][0] == 6


def test_sink_table_missing_says_run_init(env):
    with env.pg() as conn:
        World(conn).add(D1, n=2)
    done = env.cli("sync", "--day", "2026-01-20")
    assert done.returncode == 4 and "run `chsync init` first" in _one_error_line(done)


def test_source_without_the_conversation_tables(env):
    for args in (["init"], ["sync", "--day", "2026-01-20"]):
        done = env.cli(*args)
        assert done.returncode == 4 and "has no table customers" in _one_error_line(done)
    assert not (env.tmp / "chdb").exists()


@pytest.mark.parametrize("ddl, message, code", [
    ("conversation_id UUID, ended_at DateTime64(3, 'UTC')", "lacks column(s) customer_id", 4),
    ("conversation_id String, customer_id String, profile_id String, usecase_id String, agent_user_id String, "
     "source_type String, started_at DateTime64(3, 'UTC'), ended_at DateTime64(3, 'UTC'), labels Array(String), "
     "updated_at DateTime64(3, 'UTC')", "column conversation_id has type String, expected UUID", 2),
    ("conversation_id UUID, customer_id String, profile_id String, usecase_id String, agent_user_id String, "
     "source_type String, started_at DateTime, ended_at DateTime64(3), labels Array(String), updated_at DateTime",
     "keeps times at 0 and 3 digits of a second in different columns", 2),
])
def test_sink_schema_mismatch(synced, tmp_path, ddl, message, code):
    with synced.sink() as sink:
        sink.execute("CREATE DATABASE IF NOT EXISTS odd")
        sink.execute(f"CREATE TABLE odd.conversation_with_labels ({ddl}) ENGINE = MergeTree "
                     f"PARTITION BY toYYYYMMDD(ended_at) ORDER BY conversation_id")
    cfg = tmp_path / "odd.toml"
    cfg.write_text("[sink]\ndatabase = 'odd'\n")
    done = synced.cli("--config", str(cfg), "sync", "--day", "2026-01-20")
    assert done.returncode == code and message in _one_error_line(done)
    with synced.sink() as sink:
        assert sink.rows("SELECT count() FROM odd.conversation_with_labels")[0][0] == 0


def test_a_sink_partitioned_by_neither_day_nor_month_is_refused_by_sync_with_a_hint(synced, tmp_path):
    with synced.sink() as sink:
        sink.execute("CREATE DATABASE IF NOT EXISTS odd_parts")
        ddl = sink.create_local_table_sql("odd_parts.conversation_with_labels", sink.capabilities)
        sink.execute(ddl.replace("PARTITION BY toYYYYMMDD(ended_at)", "PARTITION BY toYYYYMMDD(started_at)"))
    cfg = tmp_path / "odd.toml"
    cfg.write_text("[sink]\ndatabase = 'odd_parts'\n")
    done = synced.cli("--config", str(cfg), "sync", "--day", "2026-01-20")
    assert done.returncode == 4 and "partitioned by toYYYYMMDD(started_at)" in _one_error_line(done)
    assert "--strategy repair" in done.stderr
    with synced.sink() as sink:
        assert sink.rows("SELECT count() FROM odd_parts.conversation_with_labels")[0][0] == 0
