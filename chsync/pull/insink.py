"""The diff's SQL when the sink can read Postgres itself (pull mode): the source set is copied once into a
scratch table of the sink, hashed there, and compared with the sink table by joins inside ClickHouse.
Only the differing keys (and their facts) come back to Python. The algorithm and the classification stay
in chsync/diff/.

Both sides are hashed by the same engine here, so the hash is ClickHouse's own of the typed columns
(`row_hash_sql`), not the canonical fingerprint that Postgres and ClickHouse must agree on in push mode:
it is several times cheaper, and nothing outside one run compares it. Keys keep their sink type until
the differing ones leave the sink (a UUID joins on 16 bytes instead of 36).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ..sink.base import MOD64
from ..sink.canonical import ch_type
from ..spec.model import Column
from .reader import SETTINGS, Puller, array_hash_sql

SCRATCH = {"source": "chsync_diff_source", "sink": "chsync_diff_sink", "keys": "chsync_diff_keys"}
KEY = "chsync_key"
DAY = "chsync_day"   # chsync's own names never meet a spec column's (load.py keeps chsync_ for them)
KEYS_COLUMNS = ("day", "id", "in_source", "in_sink", "hash_found", "several")   # differing_keys, in Python


def _hashed(col: Column, prefix: str, source: bool) -> str:
    """One column's part of the row hash: arrays by their order-free hash, NULL apart from the zero."""
    if col.type.is_array:
        return f"{prefix}{col.name}_h" if source else array_hash_sql(f"{prefix}{col.name}")
    x = f"{prefix}{col.name}"
    if col.type.is_textual:
        x = f"toString({x})"   # LowCardinality, Enum or not
    return f"assumeNotNull({x}), isNull({x})" if col.nullable else x


class SinkSideDiff:
    def __init__(self, puller: Puller):
        self.puller, self.sink, self.spec = puller, puller.sink, puller.spec
        self.t = {name: f"{self.sink.db}.{table}" for name, table in SCRATCH.items()}
        self.compared = self.spec.compared
        self.window: tuple[dt.date, dt.date] | None = None

    def row_hash(self, prefix: str = "", *, source: bool) -> str:
        return f"cityHash64({', '.join(_hashed(c, prefix, source) for c in self.compared)})"

    def _create(self, name: str, columns: str) -> None:
        # Memory tables: written once, read a few times, dropped at the end of the diff.
        self.sink.execute(f"DROP TABLE IF EXISTS {self.t[name]}")
        self.sink.execute(f"CREATE TABLE {self.t[name]} ({columns}) ENGINE = Memory")

    def _typed(self) -> str:
        precision = self.puller.precision
        return ", ".join(f"{c.name}_h UInt64" if c.type.is_array else f"{c.name} {ch_type(c, precision, False)}"
                         for c in self.spec.columns)

    def _source_columns(self) -> list[str]:
        return [f"{c.name}_h" if c.type.is_array else c.name for c in self.spec.columns]

    def load(self, first: dt.date, last: dt.date, *, once: bool = False) -> None:
        key_type = ch_type(self.spec.key_column, self.puller.precision, False)
        self._create("source", f"{DAY} Date, {self._typed()}, chsync_h UInt64")
        self._create("sink", f"{DAY} Date, {self.spec.key} {key_type}, chsync_hs Array(UInt64), chsync_n UInt64")
        self.window = (first, last)
        self.load_sink(first, last)
        self.load_source(first, last, once=once)

    def load_source(self, first: dt.date, last: dt.date, *, once: bool = False) -> None:
        """The source set of the range, whole rows (to explain changes) with their hashes. `once`: the
        only window of the diff, so child tables are read straight from Postgres instead of a snapshot."""
        source = self.puller.source_sql(first, last, once=once, text_key=False, hashed_arrays=True)
        self.puller.run_sql(f"INSERT INTO {self.t['source']} SELECT {DAY}, {', '.join(self._source_columns())}, "
                            f"{self.row_hash(source=True)} FROM ({source}) {SETTINGS}")

    def load_sink(self, first: dt.date, last: dt.date) -> None:
        """The sink's raw rows of the range (no FINAL, so duplicates count) grouped per (day, key)."""
        key = self.spec.key
        self.sink.execute(f"""INSERT INTO {self.t['sink']}
            SELECT {self.sink.day_expr} AS {DAY}, {key}, groupArray({self.row_hash(source=False)}), count()
            FROM {self.sink.read_table} WHERE {self.sink.range_condition(first, last)}
            GROUP BY {DAY}, {key}""")

    def source_counts(self) -> dict[dt.date, int]:
        return {_as_date(d): int(n) for d, n in self.sink.rows(
            f"SELECT {DAY}, count() FROM {self.t['source']} GROUP BY {DAY}")}

    def day_fingerprints(self) -> dict[dt.date, tuple[int, int]]:
        """{day: (rows, hash sum mod 2^64)} of the source set."""
        rows = self.sink.rows(f"SELECT {DAY}, count(), sum(chsync_h) FROM {self.t['source']} GROUP BY {DAY}")
        return {_as_date(d): (int(n), int(s) % MOD64) for d, n, s in rows}

    def sink_day_stats(self) -> dict[dt.date, dict]:
        """`ClickHouseSink.day_stats` of the range, from the grouped sink rows (with this module's hash)."""
        rows = self.sink.rows(f"SELECT {DAY}, sum(chsync_n), count(), countIf(chsync_n > 1), sum(arraySum(chsync_hs)) "
                              f"FROM {self.t['sink']} GROUP BY {DAY}")
        return {_as_date(d): {"rows": int(r), "distinct": int(u), "duplicates": int(dup), "hash_sum": int(s) % MOD64}
                for d, r, u, dup, s in rows}

    def differing_keys(self, days: list[dt.date]) -> pa.Table:
        """Per (day, key) where the two sides disagree, sorted by day and key, the facts the classes are
        decided on: in_source, in_sink, hash_found (a sink row carries the source hash), several (more
        than one sink row). Booleans, so Python needs no scalars (pyarrow would import pandas for them).
        Columns KEYS_COLUMNS (chsync_* inside the sink, where a spec column may be called day or id)."""
        key = self.spec.key
        key_type = ch_type(self.spec.key_column, self.puller.precision, False)
        listed = ", ".join(f"'{d.isoformat()}'" for d in days)
        self._create("keys", f"{DAY} Date, {key} {key_type}, chsync_source_h Nullable(UInt64), "
                             "chsync_hash_found UInt8, chsync_sink_rows UInt64")
        self.sink.execute(f"""INSERT INTO {self.t['keys']}
            SELECT {DAY}, {key}, chsync_s.chsync_h, has(chsync_k.chsync_hs, chsync_s.chsync_h),
                   ifNull(chsync_k.chsync_n, 0)
            FROM (SELECT {DAY}, {key}, chsync_h FROM {self.t['source']} WHERE {DAY} IN ({listed})) AS chsync_s
            FULL OUTER JOIN (SELECT * FROM {self.t['sink']} WHERE {DAY} IN ({listed})) AS chsync_k
            USING ({DAY}, {key})
            WHERE chsync_s.chsync_h IS NULL OR chsync_k.chsync_n IS NULL OR chsync_k.chsync_n > 1
               OR NOT has(chsync_k.chsync_hs, chsync_s.chsync_h)
            SETTINGS join_use_nulls = 1""")
        found = self.sink.arrow(f"""
            SELECT {DAY}, toString({key}) AS chsync_id, toBool(chsync_source_h IS NOT NULL) AS chsync_in_source,
                   toBool(chsync_sink_rows > 0) AS chsync_in_sink, toBool(chsync_hash_found) AS chsync_found,
                   toBool(chsync_sink_rows > 1) AS chsync_several
            FROM {self.t['keys']} ORDER BY {DAY}, chsync_id""")
        return found.rename_columns(list(KEYS_COLUMNS)) if found.num_columns else found   # (none: no columns)

    def changed_columns(self, samples: list[str] | None = None) -> list[tuple[dt.date, list[str], int, list[str]]]:
        """(day, columns, rows, keys): how many changed rows of `day` have their sink row closest to the
        source row differ in these columns, and their keys (only those among `samples`, when given: a
        caller that keeps a few keys per day needs no more). Worked out as a bit mask per row and grouped
        by it inside the sink: far cheaper to build, compare and ship than a list of names per row. Both
        sides are reduced to one hash per column before they are joined, so the join holds a window's
        hashes, not its texts and arrays."""
        key = self.spec.key
        assert self.window is not None, "load() a window first"
        mask = " + ".join(f"toUInt64(chsync_s.chsync_c{i} != chsync_k.chsync_c{i}) * {1 << i}"
                          for i in range(len(self.compared)))
        changed = (f"SELECT {key} FROM {self.t['keys']} WHERE chsync_source_h IS NOT NULL AND chsync_sink_rows > 0 "
                   "AND chsync_hash_found = 0")
        if samples is None:
            ids = f"groupArray(toString({key}))"
        else:
            ids = (f"groupArrayIf(toString({key}), {key} IN ({self.sink.key_literals(samples)}))" if samples
                   else "CAST([] AS Array(String))")

        def hashes(source: bool) -> str:
            return ", ".join(f"{_column_hash(c, source)} AS chsync_c{i}" for i, c in enumerate(self.compared))
        rows = self.sink.rows(f"""
            SELECT {DAY}, chsync_m, count(), {ids} FROM (
                SELECT {DAY}, {key}, argMin(chsync_m, bitCount(chsync_m)) AS chsync_m FROM (
                    SELECT {DAY}, {key}, {mask} AS chsync_m
                    FROM (SELECT {DAY}, {key}, {hashes(True)} FROM {self.t['source']}
                          WHERE {key} IN ({changed})) AS chsync_s
                    INNER JOIN (SELECT {self.sink.day_expr} AS {DAY}, {key}, {hashes(False)}
                                FROM {self.sink.read_table}
                                WHERE {self.sink.range_condition(*self.window)} AND {key} IN ({changed})) AS chsync_k
                    USING ({DAY}, {key}))
                GROUP BY {DAY}, {key})
            GROUP BY {DAY}, chsync_m""")
        return [(_as_date(d), [c.name for i, c in enumerate(self.compared) if m >> i & 1], int(n), keys)
                for d, m, n, keys in rows]

    def close(self) -> None:
        for table in self.t.values():
            self.sink.execute(f"DROP TABLE IF EXISTS {table}")


def _column_hash(col: Column, source: bool) -> str:
    """One column's hash, equal on both sides exactly when its part of the row hash is (doubles by their
    bits, as cityHash64 sees them: -0.0 is not 0.0 there)."""
    part = _hashed(col, "", source)
    return part if col.type.is_array else f"cityHash64({part})"


def _as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
