"""ClickHouse SQL shared by every sink backend, generated from the table spec; a backend supplies only the
transport and its capabilities.

Reads are raw (no FINAL) so duplicates are seen. The row fingerprint (canonical.RowHash) must equal the
source's for the same row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Self

import pyarrow as pa

from .. import memory
from ..errors import BadInput, RuntimeFailure
from ..spec.model import Column, TableSpec
from . import ddl
from .canonical import RowHash, accepts, expected, time_type
from .capabilities import Capabilities, partition_grain

MOD64 = 1 << 64
KEY = "chsync_key"
HASH = "chsync_h"   # chsync's own names never meet a spec column's (load.py keeps chsync_ for them)
# An exact aggregate per key (distinct keys, duplicates) holds every key of its range in memory: 4.9M
# rows took chDB ~300 MB. A range of more rows is aggregated in buckets of keys (by a hash of the key),
# one bucket at a time, and the buckets' results added up, so memory stays near one bucket's.
KEY_BUCKET_ROWS = 2_000_000
# A per-day aggregate goes run of days by run of days instead: a run reads only its own partitions, so
# runs can be small (memory) without reading the range again for each.
DAY_RUN_ROWS = 1_000_000


@dataclasses.dataclass(frozen=True)
class Statement:
    """One statement, run on the connected node or, when `node` is set, on that node only (a shard)."""
    sql: str
    node: tuple[str, int] | None = None

    def __str__(self) -> str:
        return self.sql if self.node is None else f"-- on shard {self.node[0]}:{self.node[1]}\n{self.sql}"


def literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(int(value) if isinstance(value, bool) else value)


def _day(d: dt.date) -> str:
    return f"'{d.isoformat()}'"


class ClickHouseSink(ABC):
    """One sink table (and its Distributed table on a cluster) of one database."""

    def __init__(self, spec: TableSpec, display_url: str):
        self.spec = spec
        self.display_url = display_url  # already redacted
        self._caps: Capabilities | None = None
        self.hash = RowHash(spec)
        # Set by a run (e.g. "_3f9a1c"): staging tables of two processes never share a name.
        self.stage_suffix = ""

    # -- transport (per backend) ---------------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str) -> None: ...

    @abstractmethod
    def rows(self, sql: str) -> list[tuple]: ...

    @abstractmethod
    def arrow(self, sql: str) -> pa.Table: ...

    @abstractmethod
    def insert_arrow(self, table: str, data: pa.Table, settings: dict | None = None) -> None: ...

    def insert_rows(self, table: str, rows: list[tuple], settings: dict | None = None) -> None:
        """A few rows given as Python values (journal entries): literals in the SQL text."""
        values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
        with_settings = f" SETTINGS {', '.join(f'{k} = {v}' for k, v in settings.items())}" if settings else ""
        self.execute(f"INSERT INTO {table}{with_settings} VALUES {values}")

    def nodes(self) -> list[tuple[str, int]]:
        """Every node that holds a copy of the journal (a cluster's hosts); [] for a single one."""
        return []

    def all_nodes_settings(self) -> dict | None:
        """Settings of an insert that every node acknowledges before it returns (None: one node holds it)."""
        return None

    def run(self, statements: list[Statement], on_node_done: Callable[[tuple[str, int]], None] | None = None) -> None:
        """Each statement in order; `on_node_done(node)` after each one that ran on one node."""
        for s in statements:
            if s.node is None:
                self.execute(s.sql)
            else:
                self.on_node(s.node, s.sql)
                if on_node_done:
                    on_node_done(s.node)

    def on_node(self, node: tuple[str, int], sql: str, settings: dict | None = None) -> list[tuple]:
        raise RuntimeFailure(f"{self.display_url} has no node {node[0]}:{node[1]}")

    @abstractmethod
    def detect_capabilities(self) -> Capabilities: ...

    def close(self) -> None:  # noqa: B027 - backends that hold resources override it
        pass

    def clone(self) -> ClickHouseSink:
        raise NotImplementedError

    def prepare_pull(self) -> None:  # noqa: B027 - a hook; only an in-process sink needs it
        """Before the sink reads Postgres through postgresql(): set what its client needs."""

    def release_memory(self) -> None:
        """After a step that used much memory: give what this process has freed back to the system (an
        in-process sink adds its own allocator's)."""
        memory.give_back()

    def check_reachable(self) -> None:  # noqa: B027 - a hook; only a cluster has other nodes
        """Before a destructive step: every node the step needs answers (a cluster checks each shard)."""

    @property
    def unsafe_for_writes(self) -> str | None:
        """Why chsync must not write to this sink at all (None: it may)."""
        return None

    def wait_for_replicas(self) -> None:  # noqa: B027 - a hook for replicas
        """Until every replica of the sink table has applied every write made so far (bounded), so that a
        read through a Distributed table answers the same whichever replica it picks."""

    def prove_replicas(self, first: dt.date, last: dt.date) -> None:  # noqa: B027 - a hook for replicas
        """After a write to the days [first, last]: every copy of them is the same (a cluster with several
        replicas per shard waits, bounded, for each replica to apply the write, then compares it with the
        replica that took it), or the one that is not is named."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- names ---------------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        if self._caps is None:
            self._caps = self.detect_capabilities()
        return self._caps

    def refresh_capabilities(self) -> Capabilities:
        self._caps = None
        return self.capabilities

    @property
    def db(self) -> str:
        return self.spec.sink_database

    @property
    def table(self) -> str:
        return f"{self.db}.{self.spec.sink.table}"

    @property
    def read_table(self) -> str:
        """Where readers look: the Distributed table on a cluster, the table itself otherwise."""
        return self.table

    def stage_table(self, day: dt.date) -> str:
        return f"{self.db}.{self.spec.staging_table}_{day:%Y%m%d}{self.stage_suffix}"

    def stage_read_table(self, day: dt.date) -> str:
        """Where the staged day is read and inserted (a staging Distributed table on a cluster)."""
        return self.stage_table(day)

    @property
    def on_cluster(self) -> str:
        return ""

    # -- the day -------------------------------------------------------------------------------
    def _tz(self) -> str:
        return "" if self.spec.day_timezone == "UTC" else f", {literal(self.spec.day_timezone)}"

    @property
    def day_expr(self) -> str:
        """The day of a stored row."""
        if self.spec.day_column.type.kind == "date":
            return self.spec.day
        return f"toDate({self.spec.day}{self._tz()})"

    def partition_expr(self, grain: str) -> str:
        return ddl.day_partition(self.spec, grain)

    def grain_of(self, partition_key: str) -> str | None:
        is_date = self.spec.day_column.type.kind == "date"
        grain = partition_grain(partition_key, self.spec.day, self.spec.day_timezone, is_date)
        if grain is None and not is_date and self.spec.day_timezone != "UTC" and \
                same_zone(self.day_zone(), self.spec.day_timezone):   # a key without a zone, on a column whose
            grain = partition_grain(partition_key, self.spec.day, "UTC", is_date)   # own zone is the day zone
        return grain

    def day_zone(self) -> str | None:
        """The zone in which the sink table's day column reads as dates: its type's, else the server's
        (None when the column is a date, or missing)."""
        kind = time_type(self.columns_found().get(self.spec.day, ""))
        if kind is None:
            return None
        return kind[1] or str(self.rows("SELECT timezone()")[0][0])

    # -- schema --------------------------------------------------------------------------------
    def table_exists(self, table: str | None = None) -> bool:
        db, name = (table or self.table).split(".")
        return bool(self.rows(f"SELECT count() FROM system.tables WHERE database = '{db}' AND name = '{name}'")[0][0])

    def create_local_table_sql(self, name: str, caps: Capabilities, *, replicated: bool = False,
                               if_not_exists: bool = True, grain: str | None = None,
                               like: ddl.Shape | None = None) -> str:
        return ddl.local_table(self.spec, name, caps, on_cluster=self.on_cluster, replicated=replicated,
                               if_not_exists=if_not_exists, grain=grain, like=like)

    def init_statements(self) -> list[str]:
        return [f"CREATE DATABASE IF NOT EXISTS {self.db}", self.create_local_table_sql(self.table, self.capabilities)]

    def init(self) -> list[str]:
        """Create the database and table when missing; returns the statements that ran."""
        statements = self.init_statements()
        for sql in statements:
            self.execute(sql)
        self.refresh_capabilities()
        return statements

    def schema_change(self) -> ddl.SchemaChange:
        """How the sink table's columns differ from the spec's (the table must exist)."""
        return ddl.compare(self.spec, self.columns_found())

    def tables_of_the_table(self) -> list[str]:
        """The tables that carry the sink table's columns (a cluster adds its Distributed table)."""
        return [self.table]

    def migrate_statements(self) -> list[Statement]:
        """ADD COLUMN for what the spec gained (refuse dropped, renamed or retyped columns before)."""
        change = self.schema_change()
        return [Statement(sql) for sql in ddl.add_columns(self.spec, self.tables_of_the_table(), change.added,
                                                          self.capabilities, self.on_cluster)]

    def columns_found(self) -> dict[str, str]:
        return dict(self.rows(f"SELECT name, type FROM system.columns "
                              f"WHERE database = '{self.db}' AND table = '{self.spec.sink.table}'"))

    def require_table_exists(self) -> None:
        if not self.table_exists():
            raise RuntimeFailure(f"sink table {self.table} does not exist in {self.display_url}: "
                                 "run `chsync init` first")

    def require_table(self) -> None:
        """The sink table exists and has the spec's columns with usable types."""
        self.require_table_exists()
        have = self.columns_found()
        missing = [c.name for c in self.spec.columns if c.name not in have]
        if missing:
            raise RuntimeFailure(f"sink table {self.table} lacks column(s) {', '.join(missing)}: it does not have "
                                 f"the columns {self.spec.origin} declares (new columns: `chsync migrate`)")
        for col in self.spec.columns:
            if not accepts(col, have[col.name]):
                raise BadInput(f"sink table {self.table} column {col.name} has type {have[col.name]}, "
                               f"expected {expected(col)}: point chsync at a table with the spec's schema")
        digits = {kind[0] for c in self.spec.columns if c.type.is_time and (kind := time_type(have[c.name]))}
        if len(digits) > 1:
            raise BadInput(f"sink table {self.table} keeps times at {' and '.join(map(str, sorted(digits)))} digits "
                           "of a second in different columns: chsync compares every time at one precision")
        self._require_day_zone(have)

    def _require_day_zone(self, have: dict[str, str]) -> None:
        """A partition key on the bare day column cuts days in that column's own zone (its type's, else
        the server's): the spec's day_timezone must be that zone, or swaps would replace the wrong rows."""
        zone, day = self.day_zone(), self.spec.day
        key = self.capabilities.partition_key.replace(" ", "")
        if zone is None or same_zone(zone, self.spec.day_timezone) or not re.search(rf"\({re.escape(day)}\)", key):
            return
        kind = time_type(have[day])
        whose = "its type's time zone" if kind is not None and kind[1] else "the server's time zone"
        raise BadInput(f"sink table {self.table} is partitioned by {key} on {day} {have[day]}, which reads days in "
                       f"{whose} {zone}, but the spec's days are {self.spec.day_timezone}: set [table] "
                       f"day_timezone = \"{zone}\" in the spec")

    # -- reads (raw, no FINAL) -----------------------------------------------------------------
    def range_condition(self, first: dt.date, last: dt.date) -> str:
        return f"{self.day_expr} >= {_day(first)} AND {self.day_expr} <= {_day(last)}"

    def key_literals(self, keys: list[str]) -> str:
        kind = self.spec.key_column.type.kind
        if kind == "uuid":
            return ", ".join(f"'{uuid.UUID(k)}'" for k in keys)  # UUID() refuses anything but an id
        if kind in ("bigint", "int"):
            return ", ".join(str(int(k)) for k in keys)
        return ", ".join(literal(k) for k in keys)

    @property
    def key_text(self) -> str:
        return f"toString({self.spec.key})"

    def key_buckets(self, first: dt.date, last: dt.date) -> list[str]:
        """Conditions that split the range's keys into buckets of about KEY_BUCKET_ROWS rows (["1"]: one).
        One day is one bucket: a day's keys are what a swap checks, and counting them would cost each day a
        query."""
        if first == last:
            return ["1"]
        (rows,), = self.rows(f"SELECT count() FROM {self.read_table} "
                             f"WHERE {self.range_condition(first, last)}")
        n = -(-int(rows) // KEY_BUCKET_ROWS)
        return ["1"] if n <= 1 else [f"cityHash64({self.key_text}) % {n} = {i}" for i in range(n)]

    def day_chunks(self, first: dt.date, last: dt.date, table: str | None = None) -> list[tuple[dt.date, dt.date]]:
        """[first, last] split into runs of days of about DAY_RUN_ROWS rows at most (a larger day alone):
        a per-day aggregate is exact run by run, and each run reads only its own partitions, where key
        buckets would each read the whole range."""
        if first == last:
            return [(first, last)]
        rows = {as_date(d): int(n) for d, n in self.rows(
            f"SELECT {self.day_expr} AS chsync_day, count() FROM {table or self.read_table} "
            f"WHERE {self.range_condition(first, last)} GROUP BY chsync_day")}
        if sum(rows.values()) <= DAY_RUN_ROWS:
            return [(first, last)]
        chunks: list[tuple[dt.date, dt.date]] = []
        start, held = first, 0
        for day in sorted(rows):
            if held and held + rows[day] > DAY_RUN_ROWS:
                chunks.append((start, day - dt.timedelta(days=1)))
                start, held = day, 0
            held += rows[day]
        return [*chunks, (start, last)]

    def day_stats(self, first: dt.date, last: dt.date, table: str | None = None) -> dict[dt.date, dict]:
        """{day: rows, distinct, duplicates (keys with >1 row), hash_sum (mod 2^64)} for days with rows."""
        key, source = self.spec.key, table or self.read_table
        stats: dict[dt.date, dict] = {}
        for i, (a, b) in enumerate(self.day_chunks(first, last, table)):
            if i:
                self.release_memory()   # or each run's freed pages stay, and the next run's peak adds to them
            # a set of keys per day is lighter and quicker than a count per key; the keys of the run's rare
            # days with fewer keys than rows are counted one by one afterwards, for their duplicates
            sql = f"""SELECT {self.day_expr} AS chsync_day, count(), uniqExact({key}), sum({self.hash.sql()})
                      FROM {source} WHERE {self.range_condition(a, b)} GROUP BY chsync_day"""
            run: dict[dt.date, dict] = {}
            for d, r, u, h in self.rows(sql):
                # h is NULL when every row's hash is: a NULL in a Nullable column holding a non-nullable one
                run[as_date(d)] = {"rows": int(r), "distinct": int(u), "duplicates": 0,
                                   "hash_sum": int(h or 0) % MOD64}
            duplicated = [d for d, s in run.items() if s["rows"] != s["distinct"]]
            if duplicated:
                days = " OR ".join(f"({self.range_condition(d, d)})" for d in duplicated)
                for d, dups in self.rows(f"""SELECT chsync_day, countIf(chsync_n > 1) FROM (
                        SELECT {self.day_expr} AS chsync_day, {key}, count() AS chsync_n FROM {source}
                        WHERE {days} GROUP BY chsync_day, {key}) GROUP BY chsync_day"""):
                    run[as_date(d)]["duplicates"] = int(dups)
            stats.update(run)
        return stats

    def day_span(self) -> tuple[dt.date, dt.date] | None:
        """The earliest and the latest day the table holds (None when it is empty): its history."""
        (first, last, n), = self.rows(f"SELECT min({self.day_expr}), max({self.day_expr}), count() "
                                      f"FROM {self.read_table}")
        return (as_date(first), as_date(last)) if n else None

    def day_rows(self, first: dt.date, last: dt.date) -> dict[dt.date, int]:
        """{day: raw rows} (cheap: no hashing, no grouping by key)."""
        return {as_date(d): int(n) for d, n in self.rows(
            f"SELECT {self.day_expr} AS chsync_day, count() FROM {self.read_table} "
            f"WHERE {self.range_condition(first, last)} GROUP BY chsync_day")}

    def range_totals(self, first: dt.date, last: dt.date) -> dict:
        key = self.spec.key
        totals = {"rows": 0, "distinct": 0, "duplicate_keys": 0}
        for bucket in self.key_buckets(first, last):
            sql = f"""SELECT sum(chsync_n), count(), countIf(chsync_n > 1) FROM (
                        SELECT {key}, count() AS chsync_n FROM {self.read_table}
                        WHERE {self.range_condition(first, last)} AND ({bucket}) GROUP BY {key})"""
            rows, distinct, dups = self.rows(sql)[0]
            totals["rows"] += int(rows or 0)
            totals["distinct"] += int(distinct or 0)
            totals["duplicate_keys"] += int(dups or 0)
        return totals

    def duplicate_ids(self, first: dt.date, last: dt.date) -> list[str]:
        return [r[0] for bucket in self.key_buckets(first, last) for r in self.rows(
            f"SELECT {self.key_text} FROM {self.read_table} WHERE {self.range_condition(first, last)} "
            f"AND ({bucket}) GROUP BY {self.spec.key} HAVING count() > 1")]

    def duplicate_split(self, first: dt.date, last: dt.date) -> dict[str, int]:
        """Duplicated keys whose rows sit on one node (FINAL/merges can collapse them) vs on several
        shards (nothing in ClickHouse ever will). One node: all are same-shard."""
        return {"same_shard": len(self.duplicate_ids(first, last)), "cross_shard": 0}

    def breakdown_counts(self, first: dt.date, last: dt.date, *, unique_keys: bool = False) -> dict[str, int]:
        """{breakdown value as text: distinct keys} over the range; {} without a breakdown column.
        `unique_keys`: no key has two rows in the range (`range_totals` says so), so its rows are counted
        as they are, without grouping by key (scale 3's 49 days: 0.06 s against 0.7-0.8 s)."""
        column = self.spec.breakdown
        if column is None:
            return {}
        value = f"ifNull(toString({column}), '')" if self.spec.column(column).nullable else f"toString({column})"
        if unique_keys:
            return {str(v): int(n) for v, n in self.rows(
                f"SELECT {value} AS chsync_v, count() FROM {self.read_table} "
                f"WHERE {self.range_condition(first, last)} GROUP BY chsync_v")}
        counts: dict[str, int] = {}
        for bucket in self.key_buckets(first, last):   # (value, key) groups: uniqExact held every key at once
            for v, n in self.rows(f"SELECT chsync_v, count() FROM (SELECT {value} AS chsync_v FROM {self.read_table} "
                                  f"WHERE {self.range_condition(first, last)} AND ({bucket}) "
                                  f"GROUP BY chsync_v, {self.spec.key}) GROUP BY chsync_v"):
                counts[str(v)] = counts.get(str(v), 0) + int(n)
        return counts

    def day_hashes(self, day: dt.date) -> pa.Table:
        """(key text, HASH) for every raw row of the day — duplicates appear as repeated keys."""
        return self.arrow(f"SELECT {self.key_text} AS {KEY}, toInt64({self.hash.sql()}) AS {HASH} "
                          f"FROM {self.read_table} WHERE {self.range_condition(day, day)}")

    def read_keys(self, day: dt.date, keys: list[str]) -> pa.Table:
        """Raw sink rows of the day with these keys, all columns (to explain changes)."""
        if not keys:
            return pa.table({c: [] for c in self.spec.names})
        def read(c: Column) -> str:
            if c.name == self.spec.key:
                return f"{self.key_text} AS {c.name}"
            if c.type.kind == "bytea":   # as hex: its bytes need not be UTF-8, which Arrow's strings must be
                return f"hex({c.name}) AS {c.name}"
            if c.type.is_textual and c.type.kind != "text":   # an adopted Enum reads as its number otherwise
                return f"toString({c.name}) AS {c.name}"
            if c.type.kind == "uuid[]":   # the native driver's UUID objects in a list are no Arrow type
                return f"arrayMap(chsync_e -> toString(chsync_e), {c.name}) AS {c.name}"
            return c.name
        cols = ", ".join(read(c) for c in self.spec.columns)
        # filtered in a subquery: in the outer WHERE the key would be the text alias (an error on ClickHouse
        # 18.16 for a numeric key: "Type mismatch in IN section")
        return self.arrow(f"SELECT {cols} FROM (SELECT * FROM {self.read_table} WHERE {self.range_condition(day, day)} "
                          f"AND {self.spec.key} IN ({self.key_literals(keys)}))")

    # -- writes --------------------------------------------------------------------------------
    def partition_literal(self, day: dt.date) -> str:
        grain = self.capabilities.partition_grain
        key = self.capabilities.partition_key.replace(" ", "")
        if grain == "day":
            return _day(day) if key.startswith("toDate(") or key == self.spec.day else f"{day:%Y%m%d}"
        if grain == "month":
            return f"{day:%Y%m}"
        raise RuntimeFailure(f"sink table {self.table} is partitioned by {key}: partition swaps need "
                             f"{self.partition_expr('day')} (or {self.partition_expr('month')}) partitions")

    def stage_statements(self, day: dt.date) -> list[Statement]:
        stage = self.stage_table(day)
        return [*self.drop_stage_statements(day), Statement(f"CREATE TABLE {stage} AS {self.table}")]

    def drop_stage_statements(self, day: dt.date) -> list[Statement]:
        return [Statement(f"DROP TABLE IF EXISTS {self.stage_table(day)}")]

    def stage_day(self, day: dt.date, data: pa.Table) -> str:
        """Load one day into fresh staging with the live table's structure; returns where to read it."""
        self.create_stage(day)
        if data.num_rows:
            self.insert_stage(day, data)
        return self.stage_read_table(day)

    def create_stage(self, day: dt.date) -> None:
        """A fresh, empty staging table for the day (or its month) with the live table's structure."""
        self.run(self.stage_statements(day))

    def insert_stage(self, day: dt.date, data: pa.Table) -> None:
        """One batch of the day's rows into its staging table (a day may come in several)."""
        self.insert_arrow(self.stage_read_table(day), data)

    def truncate(self) -> None:
        """Empty the sink table on every node (the demo generator's fresh start)."""
        self.run(self.table_statements(f"TRUNCATE TABLE {self.table}", ""))

    def table_statements(self, head: str, tail: str) -> list[Statement]:
        """A statement that changes the sink table's rows, `head` [ON CLUSTER] `tail`, for every node that
        holds them (a cluster may send it to one replica per shard instead)."""
        return [Statement(f"{head}{self.on_cluster}{tail}")]

    def replica_drift(self, first: dt.date, last: dt.date) -> list[dict]:
        """Days of [first, last] on which a replica's own copy differs from its shard's first replica:
        [{"day", "shard", "replica", "rows", "peer", "peer_rows"}] (replica and peer as host:port). [] where
        there is one copy of each row."""
        return []

    def staged_fingerprint(self, stage: str, first: dt.date, last: dt.date) -> tuple[int, int, int]:
        """The fingerprint of the staging exactly as the swap will take it: with replicas, the staging of
        the replicas the swap runs on, not whichever replica a Distributed read picks."""
        return self.table_fingerprint(stage, first, last)

    def drop_stage(self, day: dt.date) -> None:
        self.run(self.drop_stage_statements(day))

    def fingerprint_sql(self, table: str, first: dt.date, last: dt.date) -> str:
        return (f"SELECT count(), uniqExact({self.spec.key}), sum({self.hash.sql()}) "
                f"FROM {table} WHERE {self.range_condition(first, last)}")

    def table_fingerprint(self, table: str, first: dt.date, last: dt.date | None = None) -> tuple[int, int, int]:
        """(rows, distinct keys, hash sum mod 2^64) of the days [first, last] of any table with the sink's
        structure."""
        return fingerprint_row(self.rows(self.fingerprint_sql(table, first, last or first))[0])

    def swap_statements(self, day: dt.date) -> list[Statement]:
        return [Statement(f"ALTER TABLE {self.table} REPLACE PARTITION {self.partition_literal(day)} "
                          f"FROM {self.stage_table(day)}")]

    def swap_in(self, day: dt.date, on_node_done: Callable[[tuple[str, int]], None] | None = None) -> None:
        self.run(self.swap_statements(day), on_node_done)

    def drop_day_statements(self, day: dt.date) -> list[Statement]:
        return self.table_statements(f"ALTER TABLE {self.table}", f" DROP PARTITION {self.partition_literal(day)}")

    def drop_day(self, day: dt.date) -> None:
        self.run(self.drop_day_statements(day))

    # -- mutations (the seed's options A and B, and repair) ------------------------------------
    def delete_where_statements(self, condition: str) -> list[Statement]:
        if self.capabilities.lightweight_delete:
            return self.table_statements(f"DELETE FROM {self.table}", f" WHERE {condition}")
        return self.table_statements(f"ALTER TABLE {self.table}", f" DELETE WHERE {condition}")

    def delete_range_statements(self, first: dt.date, last: dt.date) -> list[Statement]:
        return self.delete_where_statements(self.range_condition(first, last))

    def delete_keys_statements(self, day: dt.date, keys: list[str]) -> list[Statement]:
        if not keys:
            return []
        return self.delete_where_statements(f"{self.range_condition(day, day)} AND {self.spec.key} IN "
                                            f"({self.key_literals(keys)})")

    def delete_keys_preview(self, day: dt.date, n: int) -> list[Statement]:
        """The delete of `delete_keys_statements`, with the key list summarised (for plans)."""
        return self.delete_where_statements(f"{self.range_condition(day, day)} AND {self.spec.key} IN (<{n:,} ids>)")

    def pending_mutations(self) -> list[dict]:
        rows = self.rows(f"SELECT mutation_id, command, create_time, latest_fail_reason FROM system.mutations "
                         f"WHERE database = '{self.db}' AND table = '{self.spec.sink.table}' AND is_done = 0")
        return [{"mutation_id": m, "command": c, "created": str(t), "fail_reason": f} for m, c, t, f in rows]

    def insert_day(self, day: dt.date, data: pa.Table, token: str) -> None:
        """Insert rows into the live table. `token` makes a retried insert idempotent where the server
        deduplicates inserts, and keeps a re-insert after a delete from being dropped."""
        if data.num_rows:
            self.insert_arrow(self.table, data)

    def require_partitions(self, grain: str) -> None:
        if self.capabilities.partition_grain != grain:
            raise BadInput(f"sink table {self.table} is partitioned by {self.capabilities.partition_key}, not by "
                           f"{grain}")


def same_zone(a: str | None, b: str | None) -> bool:
    """Two zone names that give every instant the same offset (Etc/UTC is UTC), over the years tables span."""
    if a is None or b is None or a == b:
        return a == b
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        za, zb = ZoneInfo(a), ZoneInfo(b)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    start = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
    return all((t := start + dt.timedelta(days=7 * i)).astimezone(za).utcoffset() == t.astimezone(zb).utcoffset()
               for i in range(52 * 60))


def fingerprint_row(row: tuple) -> tuple[int, int, int]:
    n, u, s = row
    return int(n), int(u), int(s or 0) % MOD64


def as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
