"""The row fingerprint is computed identically in Postgres SQL and ClickHouse SQL, for any row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pyarrow as pa
from builders import World
from conftest import seed_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chsync.pull.insink import SinkSideDiff
from chsync.pull.reader import SETTINGS, Puller
from chsync.sink import open_sink
from chsync.sink.canonical import RowHash
from chsync.source import open_source

COLUMNS = seed_spec().names

DAY = dt.date(2026, 1, 20)
START = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
edge_times = st.sampled_from([START, START + dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999),
                              START + dt.timedelta(microseconds=999), START + dt.timedelta(seconds=1)])
ended = st.one_of(edge_times, st.integers(0, 86_399_999_999).map(lambda us: START + dt.timedelta(microseconds=us)))
row = st.fixed_dictionaries({
    "usecase_id": st.one_of(st.none(), text), "agent_user_id": st.sampled_from(["agent-1", "agent-2"]),
    "source_type": st.sampled_from(["voice", "chat"]), "ended_at": ended,
    "started_back": st.integers(0, 10**10), "updated_ahead": st.integers(0, 10**10),
    "labels": st.lists(text, max_size=6, unique=True), "profile_id": st.just("p-alaska"),
})


def _insert_source(conn, rows):
    conn.execute("DELETE FROM conversation_labels; DELETE FROM conversations")
    for i, r in enumerate(rows):
        r["id"] = str(uuid.UUID(int=i + 1))
        conn.execute("INSERT INTO conversations VALUES (%s, 'alaska-air', %s, %s, %s, %s, %s, %s, true, %s)",
                     (r["id"], r["profile_id"], r["usecase_id"], r["agent_user_id"], r["source_type"],
                      r["ended_at"] - dt.timedelta(microseconds=r["started_back"]), r["ended_at"],
                      r["ended_at"] + dt.timedelta(microseconds=r["updated_ahead"])))
        for label in r["labels"]:
            conn.execute("INSERT INTO conversation_labels VALUES (%s, %s)", (r["id"], label))


def _sink_table(rows, precision: int) -> pa.Table:
    """The same rows written straight into ClickHouse (not through chsync's source read), labels unsorted."""
    def t(x):
        x = x.replace(microsecond=x.microsecond // 1000 * 1000) if precision == 3 else x.replace(microsecond=0)
        return x
    data = {
        "conversation_id": [r["id"] for r in rows], "customer_id": ["alaska-air"] * len(rows),
        "profile_id": [r["profile_id"] for r in rows], "usecase_id": [r["usecase_id"] or "" for r in rows],
        "agent_user_id": [r["agent_user_id"] for r in rows], "source_type": [r["source_type"] for r in rows],
        "started_at": [t(r["ended_at"] - dt.timedelta(microseconds=r["started_back"])) for r in rows],
        "ended_at": [t(r["ended_at"]) for r in rows], "labels": [list(reversed(r["labels"])) for r in rows],
        "updated_at": [t(r["ended_at"] + dt.timedelta(microseconds=r["updated_ahead"])) for r in rows],
    }
    ts = pa.timestamp("us", tz="UTC")
    types = {"labels": pa.list_(pa.string()), "started_at": ts, "ended_at": ts, "updated_at": ts}
    return pa.table({c: pa.array(data[c], types.get(c, pa.string())) for c in COLUMNS})


def test_postgres_and_clickhouse_fingerprints_agree(env):
    with env.pg() as conn:
        World(conn)
    spec64 = seed_spec(database="fp64")
    source = open_source(env.source, seed_spec())
    with env.sink(spec64) as sink:
        sink.init()
        seconds = dataclasses.replace(sink.capabilities, time_precision=0, low_cardinality=False)
        fp = RowHash(sink.spec).sql()
        sink.execute("CREATE DATABASE IF NOT EXISTS fp_seconds")
        sink.execute(sink.create_local_table_sql("fp_seconds.conversation_with_labels", seconds))
        checked = []

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.lists(row, min_size=1, max_size=8))
        def check(rows):
            with env.pg() as conn:
                _insert_source(conn, rows)
            for db, precision in (("fp64", 3), ("fp_seconds", 0)):
                table = f"{db}.conversation_with_labels"
                sink.execute(f"TRUNCATE TABLE {table}")
                sink.insert_arrow(table, _sink_table(rows, precision))
                pg = dict(zip(*source.day_hashes(DAY, precision).to_pydict().values()))
                ch = dict(zip(*sink.arrow(
                    f"SELECT toString(conversation_id) AS id, toInt64({fp}) AS h FROM {table}").to_pydict().values()))
                assert pg == ch, f"precision {precision}: fingerprints differ for {rows}"
                with Puller(open_sink(env.sink_url, seed_spec(database=db)), source) as puller:  # same session
                    # pull mode: ClickHouse reads Postgres, and hashes what it read as it hashes stored rows
                    pulled_rows = puller.source_sql(DAY, DAY, once=True)
                    pulled = _pairs(puller.sink, f"SELECT toInt64({fp}) AS h FROM ({pulled_rows}) {SETTINGS}")
                    # The in-sink diff's own hash: the source set as pulled (labels summed per id) vs the rows stored.
                    side = SinkSideDiff(puller)
                    pulled_set = puller.source_sql(DAY, DAY, once=True, text_key=False, hashed_arrays=True)
                    in_sink_diff = [
                        _pairs(puller.sink, f"SELECT {side.row_hash(source=True)} AS h FROM ({pulled_set}) {SETTINGS}"),
                        _pairs(puller.sink, f"SELECT {side.row_hash(source=False)} AS h FROM {table}")]
                assert pulled == pg, f"precision {precision}: pulled fingerprints differ for {rows}"
                assert in_sink_diff[0] == in_sink_diff[1] and len(in_sink_diff[0]) == len(rows), \
                    f"precision {precision}: the in-sink diff's hashes differ for {rows}"
            checked.append(len(rows))

        check()
    source.close()
    assert sum(checked) > 60


def _pairs(sink, select_from: str) -> dict:
    """{id: h} from `SELECT … AS h FROM (relation with conversation_id)` (the id added here)."""
    sql = select_from.replace("SELECT ", "SELECT toString(conversation_id) AS id, ", 1)  # the outer SELECT
    return dict(zip(*sink.arrow(sql).to_pydict().values()))

