"""Pull mode: the sink reads Postgres itself through ClickHouse's postgresql() table function, and the
source set of DESIGN §2 is computed in ClickHouse SQL (postgresql() pushes WHERE down, not JOINs).

Two traps handled here (FACTS):
- timestamptz arrives as a naive DateTime64(6) in the Postgres session's zone: the session zone is UTC
  (PGTZ for an in-process chDB) and ClickHouse reads the naive value as UTC (session_timezone).
- the password is part of the SQL text: statements built here are never logged, and errors from them
  pass through `scrub` before anyone sees them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
from urllib.parse import unquote, urlsplit

from ..secrets import scrub
from ..spec import Spec

# Labels are pulled once per run into this scratch table: postgresql() cannot push a join or an
# IN (subquery) down, so reading labels per day would scan the whole labels table every day.
LABELS_SCRATCH = "chsync_pull_labels"
# A window's filtered conversations, read once from Postgres: the labels snapshot is narrowed to their ids
# and they are joined with it, both from this table (reading them a second time through postgresql() made
# sync --mode pull about 8 % slower at seed scale).
CONVERSATIONS_SCRATCH = "chsync_pull_conversations"
WINDOW_PREFIX = "chsync_pull_window_"
# Days are pulled in windows of about this many rows: one INSERT … SELECT per window is close to the
# floor, and the window (not the range) bounds the memory of the join.
ROWS_PER_WINDOW = int(os.environ.get("CHSYNC_PULL_WINDOW_ROWS", "250000"))
# Naive times from Postgres are read as UTC; a LEFT JOIN miss gives [] labels, not NULL.
SETTINGS = "SETTINGS session_timezone = 'UTC', join_use_nulls = 0"


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclasses.dataclass(frozen=True)
class PgLink:
    """How the sink reaches Postgres (from the source DSN)."""
    host: str
    port: int
    database: str
    user: str
    password: str

    @classmethod
    def from_dsn(cls, dsn: str) -> "PgLink":
        parts = urlsplit(dsn)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432, unquote(parts.path.lstrip("/")) or "postgres",
                   unquote(parts.username or "postgres"), unquote(parts.password or ""))

    def table(self, name: str) -> str:
        args = [f"{self.host}:{self.port}", self.database, name, self.user, self.password]
        return f"postgresql({', '.join(sql_string(a) for a in args)})"

    def scrub(self, text: str) -> str:
        return scrub(text, self.password)


def pull_insert_preview(table: str, day: dt.date, rows: int) -> str:
    """The pull insert as a plan shows it: the statement's shape, never its credentials."""
    return (f"INSERT INTO {table} SELECT … FROM postgresql(<source, credentials hidden>) "
            f"({rows:,} rows of {day}, joined and hashed in ClickHouse)")


def _time(column: str, precision: int) -> str:
    # toDateTime64 to a smaller scale truncates, like date_trunc on the Postgres side.
    return (f"toDateTime64(c.{column}, 3, 'UTC')" if precision == 3
            else f"toDateTime(toStartOfSecond(c.{column}), 'UTC')")


def labels_hash_sql(labels: str) -> str:
    """An order-free 64-bit hash of a labels array, equal to `sum(cityHash64(label))` over its rows."""
    return f"arraySum(arrayMap(x -> cityHash64(x), {labels}))"


def source_set_sql(link: PgLink, spec: Spec, first: dt.date, last: dt.date, precision: int,
                   labels_scratch: str | None = None, text_ids: bool = True, labels_hashed: bool = False,
                   conversations_scratch: str | None = None) -> str:
    """The source set of [first, last] as sink rows, plus `day`. Labels come straight from Postgres
    (one pass: for a range read once), or from `labels_scratch`, the run's snapshot of
    (conversation_id, label) rows sorted by id, where only the range's ids are read (primary-key lookups;
    memory bounded by the range, not by the labels table). `conversations_scratch`: a table already
    holding `conversations_scratch_sql` of the range, read instead of Postgres. `text_ids`: ids as text, as the source set
    reads in push mode (else the UUIDs Postgres sends). `labels_hashed`: a `labels_h` column
    (`labels_hash_sql` of the labels) instead of `labels`, for a comparison inside the sink: summing a
    hash per id is a quarter cheaper than gathering arrays, and the join carries 8 bytes a row."""
    lo, hi = first.isoformat(), (last + dt.timedelta(days=1)).isoformat()
    conversations = f"SELECT * FROM {conversations_scratch}" if conversations_scratch else _filtered(link, spec, lo, hi)
    key = "toString(c.id)" if text_ids else "c.id"
    gather = "sum(cityHash64(label)) AS labels" if labels_hashed else "groupArray(label) AS labels"
    if labels_scratch is None:
        labels = f"(SELECT conversation_id, {gather} FROM {link.table('conversation_labels')} GROUP BY conversation_id)"
    else:
        labels = (f"(SELECT conversation_id, {gather} FROM {labels_scratch} "
                  f"WHERE conversation_id IN (SELECT id FROM ({conversations})) GROUP BY conversation_id)")
    label_column = "l.labels AS labels_h" if labels_hashed else "arraySort(l.labels) AS labels"
    return f"""
        SELECT {key} AS conversation_id, c.customer_id AS customer_id, c.profile_id AS profile_id,
               ifNull(c.usecase_id, '') AS usecase_id, ifNull(c.agent_user_id, '') AS agent_user_id,
               c.source_type AS source_type, {_time('started_at', precision)} AS started_at,
               {_time('ended_at', precision)} AS ended_at, {label_column},
               {_time('updated_at', precision)} AS updated_at, toDate(ended_at) AS day
        FROM ({conversations}) AS c LEFT JOIN {labels} AS l ON l.conversation_id = c.id"""


def _filtered(link: PgLink, spec: Spec, lo: str, hi: str) -> str:
    types = ", ".join(sql_string(t) for t in spec.source_types)
    assist = "AND has_agent_assistance" if spec.require_agent_assistance else ""
    columns = ", ".join(f"c.{c} AS {c}" for c in ("id", "customer_id", "profile_id", "usecase_id", "agent_user_id",
                                                     "source_type", "started_at", "ended_at", "updated_at"))
    return f"""
            SELECT {columns} FROM (
                SELECT * FROM {link.table('conversations')}
                WHERE customer_id = {sql_string(spec.customer)} AND ended_at >= '{lo} 00:00:00'
                  AND ended_at < '{hi} 00:00:00' AND source_type IN ({types}) {assist}) AS c
            INNER JOIN (SELECT id, customer_id FROM {link.table('profiles')}) AS p
                ON p.id = c.profile_id AND p.customer_id = c.customer_id
            INNER JOIN (SELECT id FROM {link.table('users')} WHERE NOT is_dev_user) AS u ON u.id = c.agent_user_id"""


def conversations_scratch_sql(link: PgLink, spec: Spec, first: dt.date, last: dt.date, scratch: str) -> list[str]:
    """A window's filtered conversations, copied once from Postgres into `scratch` (a Memory table)."""
    lo, hi = first.isoformat(), (last + dt.timedelta(days=1)).isoformat()
    return [f"DROP TABLE IF EXISTS {scratch}",
            f"CREATE TABLE {scratch} ENGINE = Memory AS {_filtered(link, spec, lo, hi)} {SETTINGS}"]


def labels_scratch_sql(link: PgLink, scratch: str) -> list[str]:
    """The run's labels snapshot: rows as Postgres has them (no GROUP BY, so the copy streams)."""
    return [f"DROP TABLE IF EXISTS {scratch}",
            f"CREATE TABLE {scratch} (conversation_id UUID, label String) ENGINE = MergeTree ORDER BY conversation_id",
            f"INSERT INTO {scratch} SELECT conversation_id, label FROM {link.table('conversation_labels')}"]


class Puller:
    """One run's pull mode on one sink: labels snapshot, source-set reads, staging loads."""

    def __init__(self, sink, source):
        self.sink, self.source, self.link = sink, source, PgLink.from_dsn(source.dsn)
        self.scratch = f"{sink.db}.{LABELS_SCRATCH}"
        self.conversations = f"{sink.db}.{CONVERSATIONS_SCRATCH}"
        self.precision = sink.capabilities.time_precision
        self._ready = False
        self._windows: dict[dt.date, tuple[dt.date, dt.date]] = {}
        self._loaded: dict[tuple[dt.date, dt.date], str] = {}
        self._lock = threading.Lock()

    def _run(self, fn, *args):
        from ..errors import RuntimeFailure
        try:
            return fn(*args)
        except RuntimeFailure as e:
            raise RuntimeFailure(self.link.scrub(str(e))) from None

    def run_sql(self, sql: str) -> None:
        self._run(self.sink.execute, sql)

    def prepare(self) -> None:
        """Snapshot the labels (once per run) before reading any day."""
        if not self._ready:
            self.sink.prepare_pull()
            for sql in labels_scratch_sql(self.link, self.scratch):
                self._run(self.sink.execute, sql)
            self._ready = True

    def source_sql(self, first: dt.date, last: dt.date, *, once: bool = False, text_ids: bool = True,
                   labels_hashed: bool = False) -> str:
        """`once`: the range is read a single time, so labels are joined straight from Postgres. Else the
        range's conversations are copied into a scratch table first (read by the SQL returned; one
        window's source SQL at a time)."""
        if once:
            self.sink.prepare_pull()
            return source_set_sql(self.link, self.sink.spec, first, last, self.precision, None, text_ids,
                                  labels_hashed)
        self.prepare()
        for sql in conversations_scratch_sql(self.link, self.sink.spec, first, last, self.conversations):
            self._run(self.sink.execute, sql)
        return source_set_sql(self.link, self.sink.spec, first, last, self.precision, self.scratch, text_ids,
                              labels_hashed, self.conversations)

    def range_hashes(self, first: dt.date, last: dt.date, precision: int | None = None):
        """(day, conversation_id, h) of the source set, hashed inside ClickHouse: the same columns as
        PostgresSource.range_hashes, so the diff cannot tell which side hashed."""
        from .base import fingerprint_sql
        sql = (f"SELECT day, conversation_id, toInt64({fingerprint_sql()}) AS h "
               f"FROM ({self.source_sql(first, last)}) {SETTINGS}")
        return self._run(self.sink.arrow, sql)

    def plan(self, days, rows_per_window: int = ROWS_PER_WINDOW) -> None:
        """Group the run's days into windows of about `rows_per_window` source rows. A day's size is the
        larger of Postgres's estimate and the rows the sink holds: no scan, and a window only bounds
        memory, so an estimate off by a third costs a third more memory, not a wrong answer."""
        days = sorted(days)
        if not days:
            return
        estimates = self.source.estimated_day_rows(days)
        held = self.sink.day_rows(days[0], days[-1])
        window: list[dt.date] = []
        rows = 0
        for day in days:
            n = max(estimates.get(day, 0), held.get(day, 0))
            if window and rows + n > rows_per_window:
                self._windows.update(dict.fromkeys(window, (window[0], window[-1])))
                window, rows = [], 0
            window.append(day)
            rows += n
        self._windows.update(dict.fromkeys(window, (window[0], window[-1])))

    def windows(self) -> list[tuple[dt.date, dt.date]]:
        """The planned windows, in order."""
        return sorted(set(self._windows.values()))

    def _window(self, day: dt.date) -> str:
        """The table holding the pulled window of `day` (pulled on first use: one INSERT … SELECT)."""
        from ..spec import COLUMNS
        lo, hi = self._windows.get(day, (day, day))
        with self._lock:
            if (lo, hi) not in self._loaded:
                table = f"{self.sink.db}.{WINDOW_PREFIX}{lo:%Y%m%d}_{hi:%Y%m%d}"
                self.sink.execute(f"DROP TABLE IF EXISTS {table}")
                self.sink.execute(f"CREATE TABLE {table} AS {self.sink.table}")
                cols = ", ".join(COLUMNS)
                self._run(self.sink.execute, f"INSERT INTO {table} ({cols}) SELECT {cols} "
                                             f"FROM ({self.source_sql(lo, hi)}) {SETTINGS}")
                self._loaded[(lo, hi)] = table
            return self._loaded[(lo, hi)]

    def stage_day(self, day: dt.date, sink=None) -> str:
        """Fresh staging for `day`, filled from its pulled window; returns where to read it.
        `sink`: this thread's client of the same sink (day workers)."""
        from ..spec import COLUMNS
        window = self._window(day)
        sink = sink or self.sink
        for sql in sink.stage_statements(day):
            sink.execute(sql)
        cols = ", ".join(COLUMNS)
        target = sink.stage_read_table(day)
        sink.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {window} "
                     f"WHERE toDate(ended_at) = '{day.isoformat()}'")
        return target

    def close(self) -> None:
        for table in self._loaded.values():
            self.sink.execute(f"DROP TABLE IF EXISTS {table}")
        self._loaded.clear()
        if self._ready:
            self.sink.execute(f"DROP TABLE IF EXISTS {self.scratch}")
            self.sink.execute(f"DROP TABLE IF EXISTS {self.conversations}")
            self._ready = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
