"""Postgres source: the filter of DESIGN §2 as SQL, day fingerprints, key hashes and Arrow reads.

psycopg runs the small control queries; ADBC reads rows as Arrow (FACTS: 1.8M rows/s).
The row fingerprint here must equal `sink.fingerprint` for the same row: see docs in `chsync/fingerprint.py`.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pyarrow as pa

from ..errors import BadInput, RuntimeFailure
from ..secrets import redact_url
from ..spec import Spec


def open_source(dsn: str | None, spec: Spec) -> "PostgresSource":
    if not dsn:
        raise BadInput("no source given: pass --source postgresql://user@host:port/db or set CHSYNC_SOURCE")
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or "host=" in parts.query):
        raise BadInput(f"source {redact_url(dsn)!r} is not a Postgres URL: "
                       "use postgresql://user[:password]@host[:port]/database")
    try:
        parts.port
    except ValueError:
        raise BadInput(f"source {redact_url(dsn)!r} has an invalid port") from None
    return PostgresSource(dsn, spec)


def _ts_text(column: str, precision: int) -> str:
    fmt = "YYYY-MM-DD HH24:MI:SS.MS" if precision == 3 else "YYYY-MM-DD HH24:MI:SS"
    return f"to_char({column} AT TIME ZONE 'UTC', '{fmt}')"


def _enc(expr: str) -> str:
    """Length-prefixed text, so concatenation is unambiguous whatever the values hold."""
    return f"(octet_length({expr})::text || ':' || {expr})"


_LABELS_ARRAY = ("ARRAY(SELECT l.label FROM conversation_labels l "
                 "WHERE l.conversation_id = c.id ORDER BY l.label COLLATE \"C\")")
_LABELS_TEXT = ("coalesce((SELECT string_agg(octet_length(l.label)::text || ':' || l.label, '' "
                "ORDER BY l.label COLLATE \"C\") FROM conversation_labels l WHERE l.conversation_id = c.id), '')")


def fingerprint_sql(precision: int) -> str:
    """64-bit-safe row hash (60 bits of md5 of the canonical text) at the sink's time precision."""
    canon = " || ".join([
        _enc("c.customer_id"), _enc("c.profile_id"), _enc("coalesce(c.usecase_id, '')"),
        _enc("coalesce(c.agent_user_id, '')"), _enc("c.source_type"),
        _enc(_ts_text("c.started_at", precision)), _enc(_ts_text("c.ended_at", precision)),
        _enc(_LABELS_TEXT), _enc(_ts_text("c.updated_at", precision)),
    ])
    return f"('x' || substr(md5({canon}), 1, 15))::bit(60)::bigint"


def _trunc(column: str, precision: int) -> str:
    return f"date_trunc('{'milliseconds' if precision == 3 else 'second'}', {column})"


class PostgresSource:
    def __init__(self, dsn: str, spec: Spec):
        self.dsn = dsn
        self.spec = spec
        self._pg = None
        self._adbc = None

    # -- connections ---------------------------------------------------------------------------
    def _fail(self, e: Exception) -> RuntimeFailure:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return RuntimeFailure(f"Postgres at {redact_url(self.dsn)} failed: {reason}")

    @property
    def pg(self):
        if self._pg is None:
            import psycopg
            try:
                self._pg = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10,
                                           options="-c TimeZone=UTC")
            except psycopg.Error as e:
                raise RuntimeFailure(f"cannot connect to Postgres at {redact_url(self.dsn)}: "
                                     f"{str(e).strip().splitlines()[-1]}") from None
        return self._pg

    @property
    def adbc(self):
        if self._adbc is None:
            self.pg  # fail fast with psycopg's clearer connection message
            import adbc_driver_postgresql.dbapi as adbc
            try:
                # autocommit: else every read leaves the connection idle in a transaction that holds its
                # table locks for the whole run, blocking DDL (and whatever queues behind it) on the source
                self._adbc = adbc.connect(self.dsn, autocommit=True)
            except Exception as e:  # noqa: BLE001 - ADBC raises driver-specific classes
                raise self._fail(e) from None
            with self._adbc.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
        return self._adbc

    def clone(self) -> "PostgresSource":
        """The same source with its own connections, for another thread."""
        return PostgresSource(self.dsn, self.spec)

    def close(self) -> None:
        for conn in (self._adbc, self._pg):
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - closing a broken connection
                    pass
        self._pg = self._adbc = None

    def query(self, sql: str, params=()) -> list[tuple]:
        import psycopg
        try:
            with self.pg.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        except psycopg.Error as e:
            raise self._fail(e) from None

    def arrow(self, sql: str, params=()) -> pa.Table:
        try:
            with self.adbc.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetch_arrow_table()
        except RuntimeFailure:
            raise
        except Exception as e:  # noqa: BLE001
            raise self._fail(e) from None

    # -- the filter ----------------------------------------------------------------------------
    def _where(self, first: dt.date, last: dt.date, placeholder: str, extra_join: str = "") -> str:
        types = ", ".join(f"'{t}'" for t in self.spec.source_types)  # validated identifiers
        lo, hi = first.isoformat(), (last + dt.timedelta(days=1)).isoformat()
        assist = "AND c.has_agent_assistance" if self.spec.require_agent_assistance else ""
        return f"""FROM conversations c
            JOIN profiles p ON p.id = c.profile_id AND p.customer_id = c.customer_id
            JOIN users u ON u.id = c.agent_user_id AND NOT u.is_dev_user {extra_join}
            WHERE c.customer_id = {placeholder}
              AND c.ended_at >= '{lo} 00:00:00+00' AND c.ended_at < '{hi} 00:00:00+00'
              AND c.source_type IN ({types}) {assist}"""

    # -- control queries -----------------------------------------------------------------------
    def check_customer(self) -> None:
        try:
            rows = self.query("SELECT 1 FROM customers WHERE id = %s OR name = %s",
                              (self.spec.customer, self.spec.customer))
        except RuntimeFailure as e:
            if "customers" in str(e) and "does not exist" in str(e):
                raise RuntimeFailure(f"Postgres at {redact_url(self.dsn)} has no table customers: "
                                     "is this the conversations database?") from None
            raise
        if not rows:
            known = [r[0] for r in self.query("SELECT id FROM customers ORDER BY id LIMIT 20")]
            raise BadInput(f"unknown customer {self.spec.customer!r}: known customers are "
                           f"{', '.join(known) or '(none)'}")

    def customers(self) -> list[str]:
        """Every customer id, for --all-customers."""
        return [r[0] for r in self.query("SELECT id FROM customers ORDER BY id")]

    def profiles(self) -> tuple[int, int]:
        """(profiles scanned, profiles of this customer) — the cron's 'filtered to 1' line."""
        (scanned, matched), = self.query(
            "SELECT count(*), count(*) FILTER (WHERE customer_id = %s) FROM profiles", (self.spec.customer,))
        return scanned, matched

    def day_fingerprints(self, first: dt.date, last: dt.date, precision: int) -> dict[dt.date, tuple[int, int]]:
        """{day: (conversations, sum of row hashes mod 2^64)} for the days that have any."""
        rows = self.query(
            f"""SELECT (c.ended_at AT TIME ZONE 'UTC')::date AS day, count(*),
                       (sum({fingerprint_sql(precision)}) %% 18446744073709551616)::text
                {self._where(first, last, '%s')} GROUP BY 1""", (self.spec.customer,))
        return {day: (n, int(s)) for day, n, s in rows}

    def estimated_day_rows(self, days: list[dt.date]) -> dict[dt.date, int]:
        """Postgres's own estimate of the customer's conversations per day (EXPLAIN, no scan: about
        0.2 ms a day): enough to size read windows, which only bound memory."""
        estimates = {}
        for day in days:
            (plan,), = self.query(
                "EXPLAIN (FORMAT JSON) SELECT 1 FROM conversations WHERE customer_id = %s "
                "AND ended_at >= %s AND ended_at < %s",
                (self.spec.customer, f"{day.isoformat()} 00:00:00+00",
                 f"{(day + dt.timedelta(days=1)).isoformat()} 00:00:00+00"))
            estimates[day] = int(plan[0]["Plan"]["Plan Rows"])
        return estimates

    def day_summary(self, day: dt.date, precision: int) -> tuple[int, int, int, int]:
        """(conversations, and the sums of started_at, ended_at, updated_at as epoch units of the sink's
        precision): cheap to compute, and any time-zone shift, lost row or wrong day changes it."""
        unit = 1000 if precision == 3 else 1
        sums = ", ".join(f"coalesce(sum(floor(extract(epoch from c.{col}) * {unit})), 0)::text"
                         for col in ("started_at", "ended_at", "updated_at"))
        (n, *rest), = self.query(f"SELECT count(*), {sums} {self._where(day, day, '%s')}", (self.spec.customer,))
        return (n, *(int(x) for x in rest))

    def usecase_counts(self, first: dt.date, last: dt.date) -> dict[str, int]:
        """{usecase name: conversations} over the range (an id without a name counts under the id)."""
        join = "LEFT JOIN usecases uc ON uc.id = c.usecase_id"
        return dict(self.query(f"SELECT coalesce(uc.name, coalesce(c.usecase_id, '')), count(*) "
                               f"{self._where(first, last, '%s', join)} GROUP BY 1", (self.spec.customer,)))

    def usecase_names(self) -> dict[str, str]:
        return dict(self.query("SELECT id, name FROM usecases WHERE customer_id = %s", (self.spec.customer,)))

    # -- Arrow reads ---------------------------------------------------------------------------
    def day_hashes(self, day: dt.date, precision: int) -> pa.Table:
        """(conversation_id text, h int64) of the day's source set."""
        return self.arrow(f"SELECT c.id::text AS conversation_id, {fingerprint_sql(precision)} AS h "
                          f"{self._where(day, day, '$1')}", (self.spec.customer,))

    def range_hashes(self, first: dt.date, last: dt.date, precision: int) -> pa.Table:
        """(day, conversation_id, h) of every day of the range in one pass: hashing is the expensive part
        here, so per-day fingerprints and the drill-down are both derived from this one read."""
        return self.arrow(f"SELECT (c.ended_at AT TIME ZONE 'UTC')::date AS day, c.id::text AS conversation_id, "
                          f"{fingerprint_sql(precision)} AS h {self._where(first, last, '$1')}",
                          (self.spec.customer,))

    def _row_select(self, precision: int, with_hash: bool = True) -> str:
        h = f", {fingerprint_sql(precision)} AS h" if with_hash else ""
        return f"""SELECT c.id::text AS conversation_id, c.customer_id, c.profile_id,
                coalesce(c.usecase_id, '') AS usecase_id, coalesce(c.agent_user_id, '') AS agent_user_id,
                c.source_type, {_trunc('c.started_at', precision)} AS started_at,
                {_trunc('c.ended_at', precision)} AS ended_at, {_LABELS_ARRAY} AS labels,
                {_trunc('c.updated_at', precision)} AS updated_at{h}"""

    def read_day(self, day: dt.date, precision: int = 3) -> pa.Table:
        """The day's source set as sink rows (DESIGN §3) plus `h`, the row fingerprint read in the same
        snapshot: NULL ids become '', labels are sorted, times are truncated to the sink's precision."""
        return self.arrow(f"{self._row_select(precision)} {self._where(day, day, '$1')}", (self.spec.customer,))

    def read_keys(self, day: dt.date, keys: list[str], precision: int = 3) -> pa.Table:
        """Rows of the day's source set with these ids (to explain which columns changed)."""
        where = self._where(day, day, "$1") + " AND c.id = ANY(string_to_array($2, ',')::uuid[])"
        return self.arrow(f"{self._row_select(precision)} {where}", (self.spec.customer, ",".join(keys)))

    def stale_reasons(self, days: list[str], ids: list[str]) -> list[tuple[dt.date, str, list[str]]]:
        """Why each sink row (days[i], ids[i]) is not in the source set now, from what Postgres holds: the
        first of DESIGN §4's reasons that applies, as (day, reason, ids) groups. The rule is the negation
        of `_where`, so it lives next to it. `day_moved` only when nothing else keeps the row out; a row
        that qualifies on its very day again is `unknown` (it changed while the diff was reading).
        The pairs travel as two texts and come back grouped (a list parameter costs 2.5 µs an id to
        adapt, and 126K rows of facts a quarter of a second to fetch). `= ANY` has Postgres scan
        conversations once against a hash of the ids, in parallel workers; joined straight to the pairs,
        it would hash the whole table instead."""
        if not ids:
            return []
        dev = "u.is_dev_user IS DISTINCT FROM false"  # a dev agent, no agent, or an unknown agent
        wrong_type = "NOT (c.source_type = ANY(%(types)s))"
        no_assist = "(%(assist)s AND NOT c.has_agent_assistance)"
        other_customer = "(c.customer_id <> %(customer)s OR p.customer_id IS DISTINCT FROM %(customer)s)"
        rows = self.query(
            f"""SELECT k.day, CASE
                    WHEN c.id IS NULL THEN 'deleted'
                    WHEN c.ended_at IS NULL THEN 'ended_at_reset'
                    WHEN (c.ended_at AT TIME ZONE 'UTC')::date <> k.day
                         AND NOT ({dev} OR {wrong_type} OR {no_assist} OR {other_customer}) THEN 'day_moved'
                    WHEN {dev} THEN 'dev_user'
                    WHEN {wrong_type} THEN 'source_type_changed'
                    WHEN {no_assist} THEN 'no_agent_assistance'
                    WHEN {other_customer} THEN 'customer_changed'
                    ELSE 'unknown' END AS reason,
                  string_agg(k.id::text, ',')
               FROM unnest(string_to_array(%(ids)s, ',')::uuid[], string_to_array(%(days)s, ',')::date[])
                    AS k(id, day)
               LEFT JOIN (SELECT c.* FROM conversations c
                          WHERE c.id = ANY(string_to_array(%(ids)s, ',')::uuid[])) AS c ON c.id = k.id
               LEFT JOIN profiles p ON p.id = c.profile_id
               LEFT JOIN users u ON u.id = c.agent_user_id
               GROUP BY 1, 2""",
            {"ids": ",".join(ids), "days": ",".join(days), "types": list(self.spec.source_types),
             "assist": self.spec.require_agent_assistance, "customer": self.spec.customer})
        return [(day, reason, keys.split(",")) for day, reason, keys in rows]
