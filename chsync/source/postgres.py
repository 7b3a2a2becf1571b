"""The Postgres source of one table spec: control queries (psycopg), bulk reads as Arrow (ADBC, about
1.8M rows/s), day fingerprints and stale reasons. The SQL itself comes from source/sql.py."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa

from .. import log
from ..errors import BadInput, RuntimeFailure
from ..secrets import redact_url
from ..spec.model import TableSpec
from ..watchdog import guard
from .canonical import arrow_types
from .sql import DAY, HASH, KEY, SourceSQL

# Settings every chsync session runs with: the texts chsync reads and compares rely on the first three.
PROBE_COST = 6   # child rows scanned and hashed in the time of one index probe (measured on the seed)
SESSION = {"TimeZone": "UTC", "DateStyle": "ISO, YMD", "IntervalStyle": "postgres", "extra_float_digits": "3"}
CONNECT_TIMEOUT, READ_TIMEOUT = 10, 300     # seconds; the DSN's connect_timeout= and read_timeout= override
# TCP keepalives notice a peer that went away without a word (libpq's own parameters; the DSN may override).
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "3"}
# Statements of one source in flight at once in this process, whatever --workers says: Postgres is production,
# and each read is a backend busy hashing a day. The DSN's max_reads= overrides.
MAX_READS = 2
# A hot standby cancels a read whose snapshot or lock its replay of the primary needs (a recovery conflict):
# the read is tried again after each of these pauses, then fails naming the settings that prevent it.
CONFLICT_RETRY_SECONDS = (1.0, 2.0, 4.0)
# What a standby's cancellation carries: 40001 (a snapshot, lock or tablespace conflict) or 40P01 (a
# buffer-pin or lock deadlock with the replay). chsync never runs serializable, so 40001 means a conflict.
CONFLICT_SQLSTATES = ("40001", "40P01")
CHSYNC_PARAMS = ("read_timeout", "max_reads")   # chsync's own DSN parameters: libpq would refuse them

T = TypeVar("T")


def recovery_conflict(sqlstate: str | None, message: str) -> bool:
    """Whether a failed read was cancelled by a hot standby's recovery conflict, which a new statement (a
    new snapshot) may well pass. The message is matched too, for drivers that lose the SQLSTATE."""
    return sqlstate in CONFLICT_SQLSTATES or "conflict with recovery" in message


class RecoveryConflict(RuntimeFailure):
    """A read a hot standby cancelled for a conflict with its recovery (retried before anyone sees it)."""


class ReadSlots:
    """At most `limit` reads of one source at once, shared by the source's clones (day workers, the daily
    job's check). A thread that holds a slot and reads again (a read inside a read) does not take a second
    one, so it never waits for itself."""

    def __init__(self, limit: int, wait_seconds: float):
        self.limit, self.wait_seconds = limit, wait_seconds
        self._free = threading.BoundedSemaphore(limit)
        self._held = threading.local()

    @contextlib.contextmanager
    def slot(self, what: str) -> Iterator[None]:
        depth = getattr(self._held, "depth", 0)
        # bounded: every holder's statement is bounded by the read timeout
        if depth == 0 and not self._free.acquire(timeout=self.wait_seconds):
            raise RuntimeFailure(f"{what}: no read slot came free within {self.wait_seconds:g}s "
                                 f"(max_reads={self.limit})")
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth = depth
            if depth == 0:
                self._free.release()


_told_standby: set[str] = set()   # endpoints whose standby lag this process has logged


def open_source(dsn: str | None, spec: TableSpec) -> PostgresSource:
    if not dsn:
        raise BadInput("no source given: pass --source postgresql://user@host:port/db or set CHSYNC_SOURCE")
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or "host=" in parts.query):
        raise BadInput(f"source {redact_url(dsn)!r} is not a Postgres URL: "
                       "use postgresql://user[:password]@host[:port]/database")
    try:
        _ = parts.port
    except ValueError:
        raise BadInput(f"source {redact_url(dsn)!r} has an invalid port") from None
    return PostgresSource(dsn, spec)


def split_dsn(dsn: str) -> tuple[str, float, float]:
    """(the DSN for libpq, connect timeout, read timeout): chsync's own read_timeout= is taken out (libpq
    would refuse it), connect_timeout= and TCP keepalives get defaults when the DSN has none."""
    parts = urlsplit(dsn)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))

    def seconds(name: str, default: float) -> float:
        try:
            value = float(params.get(name, default))
        except ValueError:
            value = -1
        if not 0 < value <= 86400:
            raise BadInput(f"source {redact_url(dsn)!r}: {name} must be a number of seconds (default {default:g})")
        return value

    read_timeout = seconds("read_timeout", READ_TIMEOUT)
    connect_timeout = seconds("connect_timeout", CONNECT_TIMEOUT)
    for name in CHSYNC_PARAMS:
        params.pop(name, None)
    params = {**KEEPALIVES, **params, "connect_timeout": f"{connect_timeout:g}"}
    return urlunsplit(parts._replace(query=urlencode(params))), connect_timeout, read_timeout


def max_reads(dsn: str) -> int:
    """The DSN's max_reads= (concurrent reads of the source by this process), default MAX_READS."""
    value = dict(parse_qsl(urlsplit(dsn).query, keep_blank_values=True)).get("max_reads", str(MAX_READS))
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise BadInput(f"source {redact_url(dsn)!r}: max_reads must be a whole number of concurrent reads "
                       f"from 1 to 64 (default {MAX_READS})")
    return int(value)


class PostgresSource:
    def __init__(self, dsn: str, spec: TableSpec, slots: ReadSlots | None = None):
        self.dsn = dsn
        self.libpq_dsn, self.connect_timeout, self.read_timeout = split_dsn(dsn)
        parts = urlsplit(dsn)
        self.host, self.port = parts.hostname or "localhost", parts.port or 5432
        self.endpoint = f"{self.host}:{self.port}"
        self.spec = spec
        # a waiter may see every slot's holder run a whole statement first
        self.slots = slots or ReadSlots(max_reads(dsn), 4 * self.read_timeout)
        self.standby: bool | None = None    # known once connected
        self._pg: Any = None
        self._adbc: Any = None
        self._sql: dict[int, SourceSQL] = {}

    def sql(self, precision: int) -> SourceSQL:
        if precision not in self._sql:
            self._sql[precision] = SourceSQL(self.spec, precision)
        return self._sql[precision]

    # -- connections ---------------------------------------------------------------------------
    def _guard(self, seconds: float) -> contextlib.AbstractContextManager[None]:
        """A call that must answer within `seconds` (libpq has no read timeout): past it, this process's
        connections to Postgres are shut and the call fails naming host:port (watchdog.py)."""
        return guard(seconds, f"Postgres at {self.endpoint}", peer=(self.host, self.port))

    def _fail(self, e: Exception) -> RuntimeFailure:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        kind = RecoveryConflict if recovery_conflict(getattr(e, "sqlstate", None), str(e)) else RuntimeFailure
        return kind(f"Postgres at {redact_url(self.dsn)} failed: {reason}")

    def read_slot(self) -> contextlib.AbstractContextManager[None]:
        """Held while a statement reads this source (the sink's own reads of it too): at most max_reads at once."""
        return self.slots.slot(f"Postgres at {self.endpoint}")

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """`attempt()`, tried again while a hot standby cancels it for a recovery conflict."""
        for tried in range(len(CONFLICT_RETRY_SECONDS) + 1):
            try:
                return attempt()
            except RecoveryConflict as e:
                self._after_conflict(e, tried)
        raise AssertionError("unreachable")

    def _after_conflict(self, e: RecoveryConflict, tried: int) -> None:
        """Between the tries of a read a standby cancelled: fresh connections (a conflict may have ended the
        session), a pause, one line; past the last try, the error names the standby's settings to change."""
        self.close()
        if tried >= len(CONFLICT_RETRY_SECONDS):
            raise RuntimeFailure(
                f"Postgres at {redact_url(self.dsn)} (a hot standby) cancelled the read {tried + 1} times for a "
                f"conflict with recovery (its replay of the primary needed what the read held): raise "
                f"max_standby_streaming_delay or enable hot_standby_feedback on it, or read the primary; "
                f"last: {str(e).split(' failed: ', 1)[-1]}") from None
        pause = CONFLICT_RETRY_SECONDS[tried]
        log.info(f"Postgres at {self.endpoint} cancelled a read for a conflict with recovery (a hot standby "
                 f"replaying the primary): trying again in {pause:g}s")
        time.sleep(pause)

    @property
    def pg(self) -> Any:
        if self._pg is None:
            import psycopg
            options = " ".join(f"-c {k}={v.replace(' ', '')}" for k, v in self.session().items())
            try:
                with self._guard(self.connect_timeout + 5):
                    self._pg = psycopg.connect(self.libpq_dsn, autocommit=True, options=options)
            except psycopg.Error as e:
                raise RuntimeFailure(f"cannot connect to Postgres at {redact_url(self.dsn)}: "
                                     f"{str(e).strip().splitlines()[-1]}") from None
            self._tell_standby()
        return self._pg

    def _tell_standby(self) -> None:
        """On a hot standby, one line per process saying how old the data it serves is: everything chsync
        reads is the primary as of the standby's last replayed commit."""
        import psycopg
        try:
            with self._guard(self.read_timeout):
                row = self._pg.execute(
                    "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(), "
                    "extract(epoch FROM now() - pg_last_xact_replay_timestamp()), "
                    "CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END, "
                    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() END"
                ).fetchone()
        except psycopg.Error:
            return   # informative only: a server without these functions is read as before
        standby, replayed, age, paused, behind = row
        self.standby = bool(standby)
        if not standby or self.endpoint in _told_standby:
            return
        _told_standby.add(self.endpoint)
        when = (f"as of its last replayed commit, {replayed:%Y-%m-%d %H:%M:%S} UTC ({float(age):.1f} s ago)"
                if replayed else "as of the standby's start (no commit replayed since)")
        state = ("; replay is paused" if paused else "; replay is behind the WAL it received" if behind
                 else "; replay has applied all the WAL it received")
        log.info(f"Postgres at {self.endpoint} is a hot standby (read replica): the data read is {when}{state}")

    @property
    def adbc(self) -> Any:
        if self._adbc is None:
            self.pg  # noqa: B018 - fail fast with psycopg's clearer connection message
            import adbc_driver_postgresql.dbapi as adbc
            try:
                # autocommit: else every read leaves the connection idle in a transaction that holds its
                # table locks for the whole run, blocking DDL (and whatever queues behind it) on the source
                with self._guard(self.connect_timeout + 5):
                    self._adbc = adbc.connect(self.libpq_dsn, autocommit=True)
                    with self._adbc.cursor() as cur:
                        for name, value in self.session().items():
                            cur.execute(f"SET {name} = '{value}'")
            except RuntimeFailure:
                raise
            except Exception as e:  # ADBC raises driver-specific classes
                raise self._fail(e) from None
        return self._adbc

    def session(self) -> dict[str, str]:
        """SESSION, and a statement_timeout: a live server ends a statement that runs past the read timeout
        itself (a hung one is ended by the watchdog)."""
        return {**SESSION, "statement_timeout": f"{int(self.read_timeout * 1000)}"}

    def clone(self) -> PostgresSource:
        """The same source with its own connections, for another thread; its reads share this one's slots."""
        return PostgresSource(self.dsn, self.spec, self.slots)

    def close(self) -> None:
        for conn in (self._adbc, self._pg):
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass
        self._pg = self._adbc = None

    def query(self, sql: str, params: Sequence[Any] | None = None, *,
              planner: dict[str, str] | None = None) -> list[tuple]:
        """Control queries. `params` only with chsync's own SQL: the spec's may hold a literal `%`.
        `planner`: settings for this statement only (SET LOCAL in its own transaction)."""
        import psycopg

        def once() -> list[tuple]:
            try:
                with self.read_slot():
                    local = self.pg.transaction() if planner else contextlib.nullcontext()
                    with self._guard(self.read_timeout), local, self.pg.cursor() as cur:
                        for name, value in (planner or {}).items():
                            cur.execute(f"SET LOCAL {name} = {value}")
                        cur.execute(sql, params)
                        return cur.fetchall()
            except psycopg.Error as e:
                raise self._fail(e) from None
        return self._retrying(once)

    def arrow(self, sql: str) -> pa.Table:
        def once() -> pa.Table:
            try:
                with self.read_slot(), self._guard(self.read_timeout), self.adbc.cursor() as cur:
                    cur.execute(sql)
                    return cur.fetch_arrow_table()
            except RuntimeFailure:
                raise
            except Exception as e:
                raise self._fail(e) from None
        return self._retrying(once)

    # -- the tenant ----------------------------------------------------------------------------
    def check_customer(self) -> None:
        """An unknown customer is bad input (exit 2), named with the ones that exist."""
        table, customer = self.spec.customers, self.spec.customer
        if table is None or customer is None:
            return
        try:
            rows = self.query(f"SELECT 1 FROM {table.table} WHERE {table.key}::text = %s OR {table.value}::text = %s",
                              (customer, customer))
        except RuntimeFailure as e:
            if "does not exist" in str(e):
                raise RuntimeFailure(f"Postgres at {redact_url(self.dsn)} has no table {table.table}: "
                                     f"is this the database {self.spec.origin} describes?") from None
            raise
        if not rows:
            known = [r[0] for r in self.query(f"SELECT {table.key}::text FROM {table.table} ORDER BY 1 LIMIT 20")]
            raise BadInput(f"unknown customer {customer!r}: known customers are {', '.join(known) or '(none)'}")

    def customers(self) -> list[str]:
        """Every customer, for --all-customers."""
        table = self.spec.customers
        if table is None:
            raise BadInput(f"{self.spec.origin} declares no [tenant] customers table: name customers with "
                           "--customer a,b instead of --all-customers")
        return [r[0] for r in self.query(f"SELECT {table.key}::text FROM {table.table} ORDER BY 1")]

    def units(self) -> tuple[int, int] | None:
        """(rows of the units table, those of this customer): the seed's "profiles scanned (filtered to
        1)" line; None when the spec declares no units."""
        units = self.spec.units
        if units is None or self.spec.customer is None:
            return None
        (scanned, matched), = self.query(
            f"SELECT count(*), count(*) FILTER (WHERE {units.customer}::text = %s) FROM {units.table}",
            (self.spec.customer,))
        return scanned, matched

    # -- fingerprints and reads ----------------------------------------------------------------
    def day_fingerprints(self, first: dt.date, last: dt.date, precision: int) -> dict[dt.date, tuple[int, int]]:
        """{day: (rows, sum of row hashes mod 2^64)} for the days that have any."""
        sql = self.sql(precision)
        rows = self.query(sql.day_fingerprints(first, last), planner=self._fingerprint_planner(sql, first, last))
        return {day: (n, int(s)) for day, n, s in rows}

    def day_fingerprints_and_breakdown(self, first: dt.date, last: dt.date, precision: int
                                       ) -> tuple[dict[dt.date, tuple[int, int]], dict[str | None, int]]:
        """`day_fingerprints`, and rows per breakdown value as text (None: NULL; not named, unlike
        `breakdown_counts`), from one pass over the range ({} without a breakdown column)."""
        if self.spec.breakdown is None:
            return self.day_fingerprints(first, last, precision), {}
        sql = self.sql(precision)
        rows = self.query(sql.day_fingerprints(first, last, by_breakdown=True),
                          planner=self._fingerprint_planner(sql, first, last))
        days: dict[dt.date, tuple[int, int]] = {}
        counts: dict[str | None, int] = {}
        for value, day, n, s in rows:
            rows_before, sum_before = days.get(day, (0, 0))
            days[day] = (rows_before + n, (sum_before + int(s)) % (1 << 64))
            if n:   # the arrays' share of a day has no rows of its own
                counts[value] = counts.get(value, 0) + n
        return days, counts

    @functools.cached_property
    def _child_rows(self) -> int:
        """The child tables' rows as Postgres estimates them: read once per source, not once per day."""
        (rows,), = self.query(self.sql(3).child_rows())
        return int(rows)

    def _fingerprint_planner(self, sql: SourceSQL, first: dt.date, last: dt.date) -> dict[str, str]:
        """Group by hashing: a range has few days, and Postgres, underestimating the rows, would sort every
        one of them by day (spilling to disk at the default work_mem: 56 days took 4.7 s, 4.3 s hashed).
        Hash joins for the child tables when the range holds many rows. Postgres underestimates a source
        set filtered over joins by orders of magnitude, so it probes a child table's index once per row:
        measured on the seed's 1.5M rows, 4.8 s of probes against 1.5 s to scan and hash all 2M labels
        (14 days: 2.3 s against 1.9 s for the whole fingerprint). A probe costs about what hashing
        PROBE_COST child rows does, so a short range of a long history keeps its probes."""
        settings = {"enable_sort": "off"}
        if not any(c.child is not None for c in sql.arrays):
            return settings
        children = self._child_rows
        rows = int(self.query(sql.estimate(first, last))[0][0][0]["Plan"]["Plan Rows"])
        return settings | ({"enable_nestloop": "off"} if rows * PROBE_COST >= children else {})

    def day_counts(self, first: dt.date, last: dt.date) -> dict[dt.date, int]:
        """{day: rows of the source set} (no hashing)."""
        return dict(self.query(self.sql(3).day_counts(first, last)))

    def estimated_day_rows(self, days: list[dt.date]) -> dict[dt.date, int]:
        """Postgres's own estimate of each day's base rows (EXPLAIN, no scan: about 0.2 ms a day): enough
        to size read windows, which only bound memory."""
        sql = self.sql(3)
        return {day: int(self.query(sql.estimate(day))[0][0][0]["Plan"]["Plan Rows"]) for day in days}

    def breakdown_counts(self, first: dt.date, last: dt.date) -> dict[str, int]:
        """{breakdown name: rows} over the range; {} without a breakdown column."""
        if self.spec.breakdown is None:
            return {}
        return dict(self.query(self.sql(3).breakdown(first, last)))

    def breakdown_names(self) -> dict[str, str]:
        names = self.spec.breakdown_names
        if names is None:
            return {}
        return dict(self.query(f"SELECT {names.key}::text, {names.value}::text FROM {names.table}"))

    def day_hashes(self, day: dt.date, precision: int) -> pa.Table:
        """(key text, HASH) of the day's source set."""
        return self.arrow(self.sql(precision).day_hashes(day)).rename_columns([KEY, HASH])

    def read_day(self, day: dt.date, precision: int = 3) -> pa.Table:
        """The day's source set as sink rows plus HASH, the row fingerprint read in the same snapshot."""
        return self.read_range(day, day, precision)

    def read_range(self, first: dt.date, last: dt.date, precision: int = 3) -> pa.Table:
        """`read_day` of every day of [first, last] in one read (a month partition)."""
        data = self.arrow(self.sql(precision).read(first, last))
        self._refuse_nulls(data, first)
        return arrow_types(data, list(self.spec.columns))

    def read_range_batches(self, first: dt.date, last: dt.date, precision: int, batch_rows: int,
                           on_restart: Callable[[], None] | None = None) -> Generator[pa.Table, None, None]:
        """`read_range` as tables of about `batch_rows` rows each, streamed from one statement (one snapshot):
        memory holds a batch, not the day. The read timeout covers the whole statement. A read a standby
        cancels (recovery conflict) starts over; once batches were given out, only when `on_restart` is
        there to forget them first (else the caller would hold part of one snapshot and part of another)."""
        for tried in range(len(CONFLICT_RETRY_SECONDS) + 1):
            given = False
            try:
                with self.read_slot(), self._guard(self.read_timeout), self.adbc.cursor() as cur:
                    cur.execute(self.sql(precision).read(first, last))
                    reader = cur.fetch_record_batch()   # the driver's batches: up to its byte-size hint each
                    held: list[pa.RecordBatch] = []
                    for batch in reader:
                        held.append(batch)
                        table = pa.Table.from_batches(held, reader.schema)
                        while table.num_rows >= batch_rows:
                            given = True
                            yield self._typed(table.slice(0, batch_rows), first)
                            table = table.slice(batch_rows)
                        held = table.to_batches()
                    if held and sum(b.num_rows for b in held):
                        given = True
                        yield self._typed(pa.Table.from_batches(held, reader.schema), first)
                return
            except RecoveryConflict as e:
                conflict = e
            except RuntimeFailure:
                raise
            except Exception as e:
                failure = self._fail(e)
                if not isinstance(failure, RecoveryConflict):
                    raise failure from None
                conflict = failure
            if given and on_restart is None:
                raise RuntimeFailure(str(conflict)) from None
            self._after_conflict(conflict, tried)
            if given and on_restart is not None:
                on_restart()

    def _typed(self, data: pa.Table, first: dt.date) -> pa.Table:
        self._refuse_nulls(data, first)
        return arrow_types(data, list(self.spec.columns))

    def read_keys(self, day: dt.date, keys: list[str], precision: int = 3) -> pa.Table:
        """Rows of the day's source set with these keys (to explain which columns changed)."""
        return arrow_types(self.arrow(self.sql(precision).read(day, day, keys=keys, with_hash=False)),
                           list(self.spec.columns))

    def stale_reasons(self, days: list[str], keys: list[str]) -> list[tuple[dt.date, str, list[str]]]:
        """Why each sink row (days[i], keys[i]) is not in the source set now: (day, reason, keys) groups."""
        if not keys:
            return []
        rows = self.query(self.sql(3).stale_reasons(days, keys))
        return [(day, reason, json.loads(found)) for day, reason, found in rows]

    def _refuse_nulls(self, data: pa.Table, day: dt.date) -> None:
        """A NULL where the sink column cannot hold one and the type has no zero (a uuid, a date, a time)."""
        for col in self.spec.columns:
            if col.nullable or col.type.has_zero or col.name not in data.column_names:
                continue
            column = data.column(col.name)
            if column.null_count:
                import pyarrow.compute as pc
                key = data.column(self.spec.key).filter(pc.is_null(column))[0].as_py()
                raise self._null_error(day, key, col.name)

    def refuse_nulls(self, first: dt.date, last: dt.date) -> None:
        """`_refuse_nulls` asked of Postgres (the sink read the rows itself): the first such row, if any."""
        found = self.query(self.sql(3).null_without_zero(first, last))
        if found:
            day, key, column = found[0]
            raise self._null_error(day, key, column)

    def refuse_unholdable(self, first: dt.date, last: dt.date, precision: int) -> None:
        """A value the sink column cannot hold exactly (asked when a staged day does not match Postgres):
        the first such row, named."""
        found = self.query(self.sql(precision).unholdable(first, last))
        if found:
            day, key, column, value = found[0]
            typ = self.spec.column(column).type
            raise RuntimeFailure(f"{day}: {self.spec.key} {key}: column {column} ({typ}) holds {value}, which the sink "
                                 "cannot store exactly: widen the declared type and the sink column, or fix the row; "
                                 "the day is left untouched")

    def _null_error(self, day: dt.date, key: Any, column: str) -> RuntimeFailure:
        return RuntimeFailure(f"{day}: {self.spec.key} {key} has no {column} (NULL) in Postgres, and the sink "
                              f"column is not nullable: mark it nullable = true in the spec, or fix the row")


__all__ = ["PostgresSource", "open_source", "DAY", "HASH", "KEY"]
