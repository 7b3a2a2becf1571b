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
from urllib.parse import unquote, urlsplit

from ..spec import Spec

# Labels are pulled once per run into this scratch table: postgresql() cannot push a join or an
# IN (subquery) down, so reading labels per day would scan the whole labels table every day.
LABELS_SCRATCH = "chsync_pull_labels"
# Naive times from Postgres are read as UTC; a LEFT JOIN miss gives [] labels, not NULL.
SETTINGS = "SETTINGS session_timezone = 'UTC', join_use_nulls = 0"


def _quote(value: str) -> str:
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
        return f"postgresql({', '.join(_quote(a) for a in args)})"

    def scrub(self, text: str) -> str:
        return text.replace(self.password, "***") if self.password else text


def _time(column: str, precision: int) -> str:
    # toDateTime64 to a smaller scale truncates, like date_trunc on the Postgres side.
    return (f"toDateTime64(c.{column}, 3, 'UTC')" if precision == 3
            else f"toDateTime(toStartOfSecond(c.{column}), 'UTC')")


def direct_labels(link: PgLink) -> str:
    """The labels straight from Postgres, grouped (one pass: best when the range is read once)."""
    return (f"(SELECT conversation_id, groupArray(label) AS labels FROM {link.table('conversation_labels')} "
            f"GROUP BY conversation_id)")


def source_set_sql(link: PgLink, spec: Spec, first: dt.date, last: dt.date, precision: int,
                   labels_table: str) -> str:
    """The source set of [first, last] as sink rows, plus `day`. `labels_table` holds
    (conversation_id UUID, labels Array(String)), one row per conversation with labels: a scratch
    table or `direct_labels`."""
    lo, hi = first.isoformat(), (last + dt.timedelta(days=1)).isoformat()
    labels = f"(SELECT conversation_id, labels FROM {labels_table})"
    # ClickHouse holds a join's right side in memory: put the smaller side there.
    if labels_table.startswith("("):  # labels straight from Postgres, for a whole range
        joined = f"FROM ({_filtered(link, spec, lo, hi)}) AS c LEFT JOIN {labels} AS l ON l.conversation_id = c.id"
    else:  # a day against the labels snapshot
        joined = f"FROM {labels} AS l RIGHT JOIN ({_filtered(link, spec, lo, hi)}) AS c ON l.conversation_id = c.id"
    return f"""
        SELECT toString(c.id) AS conversation_id, c.customer_id AS customer_id, c.profile_id AS profile_id,
               ifNull(c.usecase_id, '') AS usecase_id, ifNull(c.agent_user_id, '') AS agent_user_id,
               c.source_type AS source_type, {_time('started_at', precision)} AS started_at,
               {_time('ended_at', precision)} AS ended_at, arraySort(l.labels) AS labels,
               {_time('updated_at', precision)} AS updated_at, toDate(ended_at) AS day
        {joined}"""


def _filtered(link: PgLink, spec: Spec, lo: str, hi: str) -> str:
    types = ", ".join(_quote(t) for t in spec.source_types)
    assist = "AND has_agent_assistance" if spec.require_agent_assistance else ""
    return f"""
            SELECT c.* FROM (
                SELECT * FROM {link.table('conversations')}
                WHERE customer_id = {_quote(spec.customer)} AND ended_at >= '{lo} 00:00:00'
                  AND ended_at < '{hi} 00:00:00' AND source_type IN ({types}) {assist}) AS c
            INNER JOIN (SELECT id, customer_id FROM {link.table('profiles')}) AS p
                ON p.id = c.profile_id AND p.customer_id = c.customer_id
            INNER JOIN (SELECT id FROM {link.table('users')} WHERE NOT is_dev_user) AS u ON u.id = c.agent_user_id"""


def labels_scratch_sql(link: PgLink, scratch: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {scratch}",
            f"CREATE TABLE {scratch} (conversation_id UUID, labels Array(String)) "
            f"ENGINE = MergeTree ORDER BY conversation_id",
            f"INSERT INTO {scratch} SELECT conversation_id, groupArray(label) "
            f"FROM {link.table('conversation_labels')} GROUP BY conversation_id"]


class Puller:
    """One run's pull mode on one sink: labels snapshot, source-set reads, staging loads."""

    def __init__(self, sink, dsn: str):
        self.sink, self.link = sink, PgLink.from_dsn(dsn)
        self.scratch = f"{sink.db}.{LABELS_SCRATCH}"
        self.precision = sink.capabilities.time_precision
        self._ready = False

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

    def source_sql(self, first: dt.date, last: dt.date, *, once: bool = False) -> str:
        """`once`: the range is read a single time, so labels are joined straight from Postgres."""
        if once:
            self.sink.prepare_pull()
            return source_set_sql(self.link, self.sink.spec, first, last, self.precision, direct_labels(self.link))
        self.prepare()
        return source_set_sql(self.link, self.sink.spec, first, last, self.precision, self.scratch)

    def range_hashes(self, first: dt.date, last: dt.date, precision: int | None = None):
        """(day, conversation_id, h) of the source set, hashed inside ClickHouse: the same columns as
        PostgresSource.range_hashes, so the diff cannot tell which side hashed."""
        from .base import fingerprint_sql
        sql = (f"SELECT day, conversation_id, toInt64({fingerprint_sql()}) AS h "
               f"FROM ({self.source_sql(first, last)}) {SETTINGS}")
        return self._run(self.sink.arrow, sql)

    def stage_day(self, day: dt.date, sink=None) -> str:
        """Fresh staging for `day`, filled by the sink straight from Postgres; returns where to read it.
        `sink`: this thread's client of the same sink (day workers)."""
        from ..spec import COLUMNS
        sink = sink or self.sink
        for sql in sink.stage_statements(day):
            sink.execute(sql)
        cols = ", ".join(COLUMNS)
        target = sink.stage_read_table(day)
        self._run(sink.execute, f"INSERT INTO {target} ({cols}) SELECT {cols} "
                                     f"FROM ({self.source_sql(day, day)}) {SETTINGS}")
        return target

    def close(self) -> None:
        if self._ready:
            self.sink.execute(f"DROP TABLE IF EXISTS {self.scratch}")
            self._ready = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
