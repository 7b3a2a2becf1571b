"""The diff's SQL when the sink can read Postgres itself (pull mode): the source set is copied once into
a scratch table of the sink, hashed there, and compared with the sink table by joins inside ClickHouse.
Only the differing keys (and their facts) come back to Python. The algorithm and the classification
stay in chsync/diff.py.

Both sides are hashed by the same engine here, so the hash is ClickHouse's own of the typed columns
(`row_hash_sql`), not the canonical text fingerprint that Postgres and ClickHouse must agree on in push
mode: it is several times cheaper, and nothing outside one run compares it. Keys stay UUIDs until the
differing ones leave the sink (16 bytes to join on instead of 36).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ..spec import COLUMNS, KEY_COLUMN
from .base import MOD64
from .pull import SETTINGS, Puller, labels_hash_sql

SCRATCH = {"source": "chsync_diff_source", "sink": "chsync_diff_sink", "keys": "chsync_diff_keys"}
COMPARED = [c for c in COLUMNS if c != KEY_COLUMN]
# The source scratch's columns: the sink's, with the labels as their hash.
SOURCE_COLUMNS = [c if c != "labels" else "labels_h" for c in COLUMNS]


def row_hash_sql(labels: str = labels_hash_sql("labels")) -> str:
    """64-bit hash of a row's compared columns as typed in the sink, the labels as their order-free hash
    (`labels`: the expression giving it; the source scratch holds it ready as `labels_h`)."""
    def column(c: str) -> str:
        if c == "labels":
            return labels
        return f"toString({c})" if c == "source_type" else c  # LowCardinality or not
    return f"cityHash64({', '.join(column(c) for c in COMPARED)})"


def _days(days: list[dt.date]) -> str:
    return ", ".join(f"'{d.isoformat()}'" for d in days)


class SinkSideDiff:
    def __init__(self, puller: Puller):
        self.puller, self.sink = puller, puller.sink
        self.t = {name: f"{self.sink.db}.{table}" for name, table in SCRATCH.items()}

    def _create(self, name: str, columns: str) -> None:
        # Memory tables: written once, read a few times, dropped at the end of the diff.
        self.sink.execute(f"DROP TABLE IF EXISTS {self.t[name]}")
        self.sink.execute(f"CREATE TABLE {self.t[name]} ({columns}) ENGINE = Memory")

    def load(self, first: dt.date, last: dt.date, *, once: bool = False) -> None:
        self._create("source", f"day Date, {self._typed_columns()}, h UInt64")
        self._create("sink", f"day Date, {KEY_COLUMN} UUID, hs Array(UInt64), n UInt64")
        self.load_sink(first, last)
        self.load_source(first, last, once=once)

    def _typed_columns(self) -> str:
        return ", ".join(f"{c} {t}" if c != "labels" else "labels_h UInt64"
                         for c, t in self.sink.column_types(self.puller.precision, False))

    def load_source(self, first: dt.date, last: dt.date, *, once: bool = False) -> None:
        """The source set of the range, whole rows (to explain changes) with their hashes. `once`: the
        only window of the diff, so labels are read straight from Postgres instead of a snapshot."""
        source = self.puller.source_sql(first, last, once=once, text_ids=False, labels_hashed=True)
        self.puller.run_sql(f"INSERT INTO {self.t['source']} SELECT day, {', '.join(SOURCE_COLUMNS)}, "
                            f"{row_hash_sql('labels_h')} FROM ({source}) {SETTINGS}")

    def load_sink(self, first: dt.date, last: dt.date) -> None:
        """The sink's raw rows of the range (no FINAL, so duplicates count) grouped per (day, id)."""
        self.sink.execute(f"""INSERT INTO {self.t['sink']}
            SELECT toDate(ended_at) AS day, {KEY_COLUMN}, groupArray({row_hash_sql()}), count()
            FROM {self.sink.read_table}
            WHERE toDate(ended_at) >= '{first.isoformat()}' AND toDate(ended_at) <= '{last.isoformat()}'
            GROUP BY day, {KEY_COLUMN}""")

    def day_fingerprints(self) -> dict[dt.date, tuple[int, int]]:
        """{day: (rows, hash sum mod 2^64)} of the source set."""
        rows = self.sink.rows(f"SELECT day, count(), sum(h) FROM {self.t['source']} GROUP BY day")
        return {_as_date(d): (int(n), int(s) % MOD64) for d, n, s in rows}

    def sink_day_stats(self) -> dict[dt.date, dict]:
        """`ClickHouseSink.day_stats` of the range, from the grouped sink rows (with this module's hash)."""
        rows = self.sink.rows(f"SELECT day, sum(n), count(), countIf(n > 1), sum(arraySum(hs)) "
                              f"FROM {self.t['sink']} GROUP BY day")
        return {_as_date(d): {"rows": int(r), "distinct": int(u), "duplicates": int(dup), "hash_sum": int(s) % MOD64}
                for d, r, u, dup, s in rows}

    def differing_keys(self, days: list[dt.date]) -> pa.Table:
        """Per (day, id) where the two sides disagree, sorted by day and id, the facts the classes are
        decided on: in_source, in_sink, hash_found (a sink row carries the source hash), several (more
        than one sink row). Booleans, so Python needs no scalars (pyarrow would import pandas for them)."""
        self._create("keys", f"day Date, {KEY_COLUMN} UUID, source_h Nullable(UInt64), "
                             "hash_found UInt8, sink_rows UInt64")
        self.sink.execute(f"""INSERT INTO {self.t['keys']}
            SELECT day, {KEY_COLUMN}, s.h, has(k.hs, s.h), ifNull(k.n, 0)
            FROM (SELECT day, {KEY_COLUMN}, h FROM {self.t['source']} WHERE day IN ({_days(days)})) AS s
            FULL OUTER JOIN (SELECT * FROM {self.t['sink']} WHERE day IN ({_days(days)})) AS k
            USING (day, {KEY_COLUMN})
            WHERE s.h IS NULL OR k.n IS NULL OR k.n > 1 OR NOT has(k.hs, s.h)
            SETTINGS join_use_nulls = 1""")
        return self.sink.arrow(f"""
            SELECT day, toString({KEY_COLUMN}) AS id, toBool(source_h IS NOT NULL) AS in_source,
                   toBool(sink_rows > 0) AS in_sink, toBool(hash_found) AS hash_found,
                   toBool(sink_rows > 1) AS several
            FROM {self.t['keys']} ORDER BY day, id""")

    def changed_columns(self) -> list[tuple[dt.date, list[str], list[str]]]:
        """(day, columns, ids): the ids of `day` whose sink row closest to the source row differs in these
        columns. Worked out as a bit mask per row and grouped by it inside the sink: far cheaper to build,
        compare and ship than a list of names per row."""
        mask = " + ".join(f"(NOT ({_same(c)})) * {1 << i}" for i, c in enumerate(COMPARED))
        changed = (f"SELECT {KEY_COLUMN} FROM {self.t['keys']} "
                   f"WHERE source_h IS NOT NULL AND sink_rows > 0 AND hash_found = 0")
        rows = self.sink.rows(f"""
            SELECT day, m, groupArray(toString({KEY_COLUMN})) FROM (
                SELECT day, {KEY_COLUMN}, argMin(m, bitCount(m)) AS m FROM (
                    SELECT day, {KEY_COLUMN}, toUInt16({mask}) AS m
                    FROM (SELECT * FROM {self.t['source']} WHERE {KEY_COLUMN} IN ({changed})) AS s
                    INNER JOIN (SELECT toDate(ended_at) AS day, {KEY_COLUMN}, {', '.join(COMPARED)}
                                FROM {self.sink.read_table} WHERE {KEY_COLUMN} IN ({changed})) AS k
                    USING (day, {KEY_COLUMN}))
                GROUP BY day, {KEY_COLUMN})
            GROUP BY day, m""")
        return [(_as_date(d), [c for i, c in enumerate(COMPARED) if m >> i & 1], ids) for d, m, ids in rows]

    def close(self) -> None:
        for table in self.t.values():
            self.sink.execute(f"DROP TABLE IF EXISTS {table}")


def _same(column: str) -> str:
    if column == "labels":
        return f"s.labels_h = {labels_hash_sql('k.labels')}"
    return f"s.{column} = k.{column}"


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
