"""Pull mode: the sink reads Postgres itself through ClickHouse's postgresql() table function and builds
the source set there (transpile.py writes that SQL from the spec).

Two traps handled here:
- timestamptz arrives as a naive DateTime64(6) in the Postgres session's zone: the session zone is UTC
  (PGTZ for an in-process chDB; PGDATESTYLE keeps its text ISO) and ClickHouse reads the naive value as
  UTC (session_timezone);
- the password is part of the SQL text: statements built here are never logged, and errors from them
  pass through `scrub` before anyone sees them.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, TypeVar

from ..errors import RuntimeFailure
from ..faults import fault_point
from ..sink.canonical import ch_type
from ..watchdog import guard
from .transpile import DAY, PgLink, PulledSource

if TYPE_CHECKING:
    from typing import Protocol

    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource

    class SwapUnit(Protocol):
        """What one swap replaces (strategies' Unit, a layer above): its first and last day."""
        @property
        def first(self) -> dt.date: ...
        @property
        def last(self) -> dt.date: ...

T = TypeVar("T")

# Child tables (array columns) are copied once per run into snapshots: postgresql() cannot push a join
# or an IN (subquery) down, so reading them per window would scan the whole child table every time.
CHILD_PREFIX = "chsync_pull_child_"
# A window's filtered base rows, read once from Postgres: the child snapshots are narrowed to their keys.
ROWS_SCRATCH = "chsync_pull_rows"
WINDOW_PREFIX = "chsync_pull_window_"
# Days are pulled in windows of about this many rows: one INSERT … SELECT per window is close to the
# floor, and the window (not the range) bounds the memory of the join.
ROWS_PER_WINDOW = int(os.environ.get("CHSYNC_PULL_WINDOW_ROWS", "250000"))
# Naive times from Postgres are read as UTC; a LEFT JOIN miss reads as NULL, as in Postgres.
SETTINGS = "SETTINGS session_timezone = 'UTC', join_use_nulls = 1"
# A child table is copied whole (millions of rows); in blocks of 64K rows it takes half the memory
# of the default million-row blocks, in the same time.
SNAPSHOT_SETTINGS = "SETTINGS max_block_size = 8192, max_insert_block_size = 65536, min_insert_block_size_rows = 65536"


def pull_insert_preview(table: str, day: dt.date, rows: int) -> str:
    """The pull insert as a plan shows it: the statement's shape, never its credentials."""
    return (f"INSERT INTO {table} SELECT … FROM postgresql(<source, credentials hidden>) "
            f"({rows:,} rows of {day}, joined and hashed in ClickHouse)")


def array_hash_sql(values: str) -> str:
    """An order-free 64-bit hash of an array, equal to `sum(cityHash64(value))` over its rows."""
    return f"arraySum(arrayMap(x -> cityHash64(x), {values}))"


class Puller:
    """One run's pull mode on one sink: child snapshots, source-set reads, staging loads.
    Raises NotPullable when the spec's SQL cannot be carried into ClickHouse."""

    def __init__(self, sink: ClickHouseSink, source: PostgresSource) -> None:
        self.sink, self.source, self.link = sink, source, PgLink.from_dsn(source.dsn)
        self.spec = sink.spec
        self.precision = sink.capabilities.time_precision
        self.pulled = PulledSource(self.spec, self.link, self.precision)
        self.children = {c.name: f"{sink.db}.{CHILD_PREFIX}{c.name}" for c in self.pulled.child_arrays}
        self.rows_scratch = f"{sink.db}.{ROWS_SCRATCH}"
        self._ready = False
        self._windows: dict[dt.date, tuple[dt.date, dt.date]] = {}
        self._loaded: dict[tuple[dt.date, dt.date], str] = {}
        self._lock = threading.Lock()

    def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """A statement in which the sink reads Postgres: postgresql() has no read timeout of its own."""
        # An in-process sink's connections to Postgres are this process's: past the timeout they are shut
        # and the statement fails; a server's are not, so the watchdog ends the process instead.
        peer = (self.link.host, self.link.port) if self.sink.capabilities.in_process else None
        try:   # the sink's reads of Postgres count against the source's max_reads too
            with self.source.read_slot(), \
                    guard(self.source.read_timeout, f"Postgres at {self.source.endpoint} (read by the sink)", peer):
                return fn(*args)
        except RuntimeFailure as e:
            raise RuntimeFailure(self.link.scrub(str(e))) from None

    def run_sql(self, sql: str) -> None:
        self._run(self.sink.execute, sql)

    def prepare(self) -> None:
        """Snapshot the child tables (once per run) before reading any day."""
        if self._ready:
            return
        self.sink.prepare_pull()
        key_type = ch_type(self.spec.key_column, self.precision, False)
        for col in self.pulled.child_arrays:
            assert col.child is not None
            table = self.children[col.name]
            self.run_sql(f"DROP TABLE IF EXISTS {table}")
            self.run_sql(f"CREATE TABLE {table} (k {key_type}, v String) ENGINE = MergeTree ORDER BY k")
            self.run_sql(f"INSERT INTO {table} SELECT {col.child.key}, ifNull(toString({col.child.value}), '') "
                         f"FROM {self.link.table(col.child.table)} {SNAPSHOT_SETTINGS}")
        self._ready = True

    def source_sql(self, first: dt.date, last: dt.date, *, once: bool = False, text_key: bool = True,
                   hashed_arrays: bool = False) -> str:
        """The source set of [first, last] as sink rows plus DAY (the row's day). `once`: the range is read
        a single time, so child tables are read straight from Postgres; else the range's base rows are copied into a
        scratch table first and the child snapshots are narrowed to their keys (one window at a time).
        `hashed_arrays`: `<name>_h` (array_hash_sql of the array) instead of each child array, for a
        comparison inside the sink (a hash per key is cheaper to build and join than an array)."""
        key = self.spec.key
        if once:
            self.sink.prepare_pull()
            rows = self.pulled.filtered(first, last, self.pulled.scalars(text_key=False))
        else:
            self.prepare()
            self.run_sql(f"DROP TABLE IF EXISTS {self.rows_scratch}")
            self.run_sql(f"CREATE TABLE {self.rows_scratch} ENGINE = Memory AS "
                         f"{self.pulled.filtered(first, last, self.pulled.scalars(text_key=False))} {SETTINGS}")
            rows = f"SELECT * FROM {self.rows_scratch}"
        columns, joins = [], []
        for col in self.spec.columns:
            if col.child is None and col.type.is_array and hashed_arrays:
                columns.append(f"{array_hash_sql(f'r.{col.name}')} AS {col.name}_h")
                continue
            if col.child is None:
                columns.append(f"toString(r.{col.name}) AS {col.name}" if col.name == key and text_key
                               else f"r.{col.name} AS {col.name}")
                continue
            alias = f"chsync_a_{col.name}"
            source = (f"(SELECT {col.child.key} AS k, ifNull(toString({col.child.value}), '') AS v "
                      f"FROM {self.link.table(col.child.table)})" if once else self.children[col.name])
            gather = "sum(cityHash64(v))" if hashed_arrays else "groupArray(v)"
            narrow = "" if once else f" WHERE k IN (SELECT {key} FROM {self.rows_scratch})"
            joins.append(f"LEFT JOIN (SELECT k, {gather} AS g FROM {source}{narrow} GROUP BY k) AS {alias} "
                         f"ON {alias}.k = r.{key}")
            columns.append(f"ifNull({alias}.g, 0) AS {col.name}_h" if hashed_arrays
                           else f"arraySort({alias}.g) AS {col.name}")
        return f"SELECT {', '.join(columns)}, r.{DAY} AS {DAY} FROM ({rows}) AS r {' '.join(joins)}"

    def preflight(self, day: dt.date) -> str | None:
        """None when ClickHouse accepts the pulled SQL (names, functions, types), else why not."""
        try:
            self.sink.prepare_pull()
            self._run(self.sink.rows, f"EXPLAIN {self.pulled.filtered(day, day, self.pulled.scalars(text_key=False))} "
                                      f"{SETTINGS}")
            return None
        except RuntimeFailure as e:
            return self.link.scrub(str(e))

    def plan(self, spans: list[tuple[dt.date, dt.date]], rows_per_window: int = ROWS_PER_WINDOW) -> None:
        """Group the run's spans (days, or the months of a month-partitioned table; a span is never split)
        into windows of about `rows_per_window` source rows. A day's size is the larger of Postgres's
        estimate and the rows the sink holds: no scan, and a window only bounds memory, so an estimate off
        by a third costs a third more memory, not a wrong answer."""
        spans = sorted(spans)
        if not spans:
            return
        days = [d for lo, hi in spans for d in _days(lo, hi)]
        estimates = self.source.estimated_day_rows(days)
        held = self.sink.day_rows(spans[0][0], spans[-1][1])
        window: list[tuple[dt.date, dt.date]] = []
        rows = 0
        for lo, hi in spans:
            n = sum(max(estimates.get(d, 0), held.get(d, 0)) for d in _days(lo, hi))
            if window and rows + n > rows_per_window:
                self._close_window(window)
                window, rows = [], 0
            window.append((lo, hi))
            rows += n
        self._close_window(window)

    def _close_window(self, spans: list[tuple[dt.date, dt.date]]) -> None:
        bounds = (spans[0][0], spans[-1][1])
        for lo, hi in spans:
            self._windows.update(dict.fromkeys(_days(lo, hi), bounds))

    def windows(self) -> list[tuple[dt.date, dt.date]]:
        """The planned windows, in order."""
        return sorted(set(self._windows.values()))

    def window_of(self, day: dt.date) -> tuple[dt.date, dt.date]:
        return self._windows.get(day, (day, day))

    def _window(self, day: dt.date) -> str:
        """The table holding the pulled window of `day` (pulled on first use: one INSERT … SELECT)."""
        lo, hi = self.window_of(day)
        with self._lock:
            if (lo, hi) not in self._loaded:
                fault_point("pull", lo)
                table = f"{self.sink.db}.{WINDOW_PREFIX}{lo:%Y%m%d}_{hi:%Y%m%d}"
                self.sink.execute(f"DROP TABLE IF EXISTS {table}")
                self.sink.execute(f"CREATE TABLE {table} AS {self.sink.table}")
                cols = ", ".join(self.spec.names)
                self.run_sql(f"INSERT INTO {table} ({cols}) SELECT {cols} "
                             f"FROM ({self.source_sql(lo, hi, text_key=False)}) {SETTINGS}")
                self._loaded[(lo, hi)] = table
            return self._loaded[(lo, hi)]

    def stage_unit(self, unit: SwapUnit, sink: ClickHouseSink | None = None) -> str:
        """Fresh staging for the unit (a day or a month), filled from its pulled window; returns where to
        read it. `sink`: this thread's client of the same sink (day workers)."""
        window = self._window(unit.first)
        sink = sink or self.sink
        sink.run(sink.stage_statements(unit.first))
        cols = ", ".join(self.spec.names)
        target = sink.stage_read_table(unit.first)
        sink.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {window} "
                     f"WHERE {sink.range_condition(unit.first, unit.last)}")
        return target

    def close(self) -> None:
        for table in self._loaded.values():
            self.sink.execute(f"DROP TABLE IF EXISTS {table}")
        self._loaded.clear()
        if self._ready:
            for table in [*self.children.values(), self.rows_scratch]:
                self.sink.execute(f"DROP TABLE IF EXISTS {table}")
            self._ready = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
