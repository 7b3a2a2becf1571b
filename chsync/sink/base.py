"""ClickHouse SQL shared by every sink backend; a backend supplies only the transport.

Reads are raw (no FINAL) so duplicates are seen. The row fingerprint below must equal
`source.postgres.fingerprint_sql` for the same row (tests/test_fingerprint.py proves it).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from abc import ABC, abstractmethod

import pyarrow as pa

from ..errors import RuntimeFailure
from ..spec import COLUMNS, KEY_COLUMN, Spec
from .capabilities import Capabilities

MOD64 = 1 << 64


def _enc(expr: str) -> str:
    return f"concat(toString(length({expr})), ':', {expr})"


def fingerprint_sql() -> str:
    """60 bits of md5 of the canonical row text; `toString` of the column gives its own precision."""
    labels = "arrayStringConcat(arrayMap(x -> concat(toString(length(x)), ':', x), arraySort(labels)), '')"
    canon = ", ".join([
        _enc("customer_id"), _enc("profile_id"), _enc("usecase_id"), _enc("agent_user_id"),
        _enc("toString(source_type)"), _enc("toString(started_at)"), _enc("toString(ended_at)"),
        _enc(labels), _enc("toString(updated_at)"),
    ])
    return f"reinterpretAsUInt64(reverse(unhex(concat('0', substring(hex(MD5(concat({canon}))), 1, 15)))))"


def _day(d: dt.date) -> str:
    return f"'{d.isoformat()}'"


class ClickHouseSink(ABC):
    """One sink table (and its Distributed table on a cluster) of one customer database."""

    def __init__(self, spec: Spec, display_url: str):
        self.spec = spec
        self.display_url = display_url  # already redacted
        self._caps: Capabilities | None = None

    # -- transport (per backend) ---------------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str) -> None: ...

    @abstractmethod
    def rows(self, sql: str) -> list[tuple]: ...

    @abstractmethod
    def arrow(self, sql: str) -> pa.Table: ...

    @abstractmethod
    def insert_arrow(self, table: str, data: pa.Table) -> None: ...

    def insert_rows(self, table: str, rows: list[tuple]) -> None:
        """A few rows given as Python values (journal entries): literals in the SQL text."""
        values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
        self.execute(f"INSERT INTO {table} VALUES {values}")

    @abstractmethod
    def detect_capabilities(self) -> Capabilities: ...

    def close(self) -> None:  # pragma: no cover - backends override when they hold resources
        pass

    def prepare_pull(self) -> None:
        """Before the sink reads Postgres through postgresql(): set what its client needs."""

    def check_reachable(self) -> None:
        """Before a destructive step: every node the step needs answers (a cluster checks each shard)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
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
        return f"{self.db}.{self.spec.table}"

    @property
    def read_table(self) -> str:
        """Where readers look: the Distributed table on a cluster, the table itself otherwise."""
        if self.capabilities.distributed:
            return f"{self.db}.{self.spec.distributed_table}"
        return self.table

    def stage_table(self, day: dt.date) -> str:
        return f"{self.db}.{self.spec.staging_table}_{day:%Y%m%d}"

    def stage_read_table(self, day: dt.date) -> str:
        """Where the staged day is read and inserted (a staging Distributed table on a cluster)."""
        return self.stage_table(day)

    @property
    def on_cluster(self) -> str:
        return ""

    # -- schema --------------------------------------------------------------------------------
    def column_types(self, precision: int, low_cardinality: bool) -> list[tuple[str, str]]:
        ts = "DateTime64(3, 'UTC')" if precision == 3 else "DateTime('UTC')"
        kind = "LowCardinality(String)" if low_cardinality else "String"
        types = {"conversation_id": "UUID", "source_type": kind, "labels": "Array(String)",
                 "started_at": ts, "ended_at": ts, "updated_at": ts}
        return [(c, types.get(c, "String")) for c in COLUMNS]

    def table_exists(self, table: str | None = None) -> bool:
        db, name = (table or self.table).split(".")
        return bool(self.rows(f"SELECT count() FROM system.tables WHERE database = '{db}' AND name = '{name}'")[0][0])

    def create_local_table_sql(self, name: str, caps: Capabilities, *, replicated: bool = False,
                               if_not_exists: bool = True) -> str:
        cols = ",\n  ".join(f"{c} {t}" for c, t in self.column_types(caps.time_precision, caps.low_cardinality))
        db, table = name.split(".")
        engine = (f"ReplicatedReplacingMergeTree('/clickhouse/tables/{{shard}}/{db}/{table}', '{{replica}}', "
                  f"updated_at)" if replicated else "ReplacingMergeTree(updated_at)")
        return (f"CREATE TABLE {'IF NOT EXISTS ' if if_not_exists else ''}{name}{self.on_cluster} (\n  {cols}\n) "
                f"ENGINE = {engine} PARTITION BY toYYYYMMDD(ended_at) ORDER BY {KEY_COLUMN}")

    def init(self) -> list[str]:
        """Create the database and table when missing; returns the statements that ran."""
        caps = self.capabilities
        statements = [f"CREATE DATABASE IF NOT EXISTS {self.db}", self.create_local_table_sql(self.table, caps)]
        for sql in statements:
            self.execute(sql)
        self.refresh_capabilities()
        return statements

    def require_table(self) -> None:
        """The sink table exists and has the conversation_with_labels columns with usable types."""
        if not self.table_exists():
            raise RuntimeFailure(f"sink table {self.table} does not exist in {self.display_url}: "
                                 "run `chsync init` first")
        have = dict(self.rows(f"SELECT name, type FROM system.columns "
                              f"WHERE database = '{self.db}' AND table = '{self.spec.table}'"))
        missing = [c for c in COLUMNS if c not in have]
        if missing:
            raise RuntimeFailure(f"sink table {self.table} lacks column(s) {', '.join(missing)}: "
                                 "it does not have the conversation_with_labels schema")
        for column, kind in have.items():
            if column in COLUMNS and not _TYPE_OK[column](kind.replace(" ", "")):
                raise RuntimeFailure(f"sink table {self.table} column {column} has type {kind}, expected "
                                     f"{_TYPE_HINT[column]}: point chsync at a table with the DESIGN §3 schema")

    # -- reads (raw, no FINAL) -----------------------------------------------------------------
    def range_condition(self, first: dt.date, last: dt.date) -> str:
        return f"toDate(ended_at) >= {_day(first)} AND toDate(ended_at) <= {_day(last)}"

    def day_stats(self, first: dt.date, last: dt.date) -> dict[dt.date, dict]:
        """{day: rows, distinct, duplicates (ids with >1 row), hash_sum (mod 2^64)} for days with rows."""
        sql = f"""SELECT day, sum(n), count(), countIf(n > 1), sum(hs) FROM (
                    SELECT toDate(ended_at) AS day, {KEY_COLUMN}, count() AS n, sum({fingerprint_sql()}) AS hs
                    FROM {self.read_table} WHERE {self.range_condition(first, last)} GROUP BY day, {KEY_COLUMN})
                  GROUP BY day"""
        return {_as_date(d): {"rows": int(r), "distinct": int(u), "duplicates": int(dup), "hash_sum": int(s) % MOD64}
                for d, r, u, dup, s in self.rows(sql)}

    def day_rows(self, first: dt.date, last: dt.date) -> dict[dt.date, int]:
        """{day: raw rows} (cheap: no hashing, no grouping by id)."""
        return {_as_date(d): int(n) for d, n in self.rows(
            f"SELECT toDate(ended_at) AS day, count() FROM {self.read_table} "
            f"WHERE {self.range_condition(first, last)} GROUP BY day")}

    def range_totals(self, first: dt.date, last: dt.date) -> dict:
        sql = f"""SELECT sum(n), count(), countIf(n > 1) FROM (
                    SELECT {KEY_COLUMN}, count() AS n FROM {self.read_table}
                    WHERE {self.range_condition(first, last)} GROUP BY {KEY_COLUMN})"""
        rows, distinct, dups = self.rows(sql)[0]
        return {"rows": int(rows or 0), "distinct": int(distinct or 0), "duplicate_conversations": int(dups or 0)}

    def duplicate_ids(self, first: dt.date, last: dt.date) -> list[str]:
        return [r[0] for r in self.rows(
            f"SELECT toString({KEY_COLUMN}) FROM {self.read_table} WHERE {self.range_condition(first, last)} "
            f"GROUP BY {KEY_COLUMN} HAVING count() > 1")]

    def duplicate_split(self, first: dt.date, last: dt.date) -> dict[str, int]:
        """Duplicate conversations whose rows sit on one node (FINAL/merges can collapse them) vs on
        several shards (nothing in ClickHouse ever will). One node: all are same-shard."""
        return {"same_shard": len(self.duplicate_ids(first, last)), "cross_shard": 0}

    def usecase_counts(self, first: dt.date, last: dt.date) -> dict[str, int]:
        """{usecase_id: distinct conversations} over the range."""
        return {u: int(n) for u, n in self.rows(
            f"SELECT usecase_id, uniqExact({KEY_COLUMN}) FROM {self.read_table} "
            f"WHERE {self.range_condition(first, last)} GROUP BY usecase_id")}

    def day_hashes(self, day: dt.date) -> pa.Table:
        """(conversation_id, h) for every raw row of the day — duplicates appear as repeated ids."""
        return self.arrow(f"SELECT toString({KEY_COLUMN}) AS conversation_id, toInt64({fingerprint_sql()}) AS h "
                          f"FROM {self.read_table} WHERE {self.range_condition(day, day)}")

    def read_keys(self, day: dt.date, keys: list[str]) -> pa.Table:
        """Raw sink rows of the day with these ids, all columns (to explain changes)."""
        if not keys:
            return pa.table({c: [] for c in COLUMNS})
        ids = ", ".join(f"'{uuid.UUID(k)}'" for k in keys)
        cols = ", ".join(f"toString({c}) AS {c}" if c == KEY_COLUMN else c for c in COLUMNS)
        return self.arrow(f"SELECT {cols} FROM {self.read_table} WHERE {self.range_condition(day, day)} "
                          f"AND {KEY_COLUMN} IN ({ids})")

    # -- writes --------------------------------------------------------------------------------
    def partition_literal(self, day: dt.date) -> str:
        key = self.capabilities.partition_key.replace(" ", "")
        if key == "toYYYYMMDD(ended_at)":
            return f"{day:%Y%m%d}"
        if key == "toDate(ended_at)":
            return _day(day)
        raise RuntimeFailure(f"sink table {self.table} is partitioned by {key}: day swaps need "
                             "toYYYYMMDD(ended_at) partitions")

    def stage_statements(self, day: dt.date) -> list[str]:
        stage = self.stage_table(day)
        return [*self.drop_stage_statements(day), f"CREATE TABLE {stage} AS {self.table}"]

    def drop_stage_statements(self, day: dt.date) -> list[str]:
        return [f"DROP TABLE IF EXISTS {self.stage_table(day)}"]

    def stage_day(self, day: dt.date, data: pa.Table) -> str:
        """Load one day into fresh staging with the live table's structure; returns where to read it."""
        for sql in self.stage_statements(day):
            self.execute(sql)
        if data.num_rows:
            self.insert_arrow(self.stage_read_table(day), data)
        return self.stage_read_table(day)

    def truncate(self) -> None:
        """Empty the sink table on every node (the demo generator's fresh start)."""
        self.execute(f"TRUNCATE TABLE {self.table}{self.on_cluster}")

    def drop_stage(self, day: dt.date) -> None:
        for sql in self.drop_stage_statements(day):
            self.execute(sql)

    def table_fingerprint(self, table: str, day: dt.date) -> tuple[int, int, int]:
        """(rows, distinct ids, hash sum mod 2^64) of one day of any table with the sink's structure."""
        n, u, s = self.rows(f"SELECT count(), uniqExact({KEY_COLUMN}), sum({fingerprint_sql()}) "
                            f"FROM {table} WHERE {self.range_condition(day, day)}")[0]
        return int(n), int(u), int(s or 0) % MOD64

    def time_summary(self, table: str, day: dt.date) -> tuple[int, int, int, int]:
        """`PostgresSource.day_summary` of one day of a table with the sink's structure."""
        unit = "toUnixTimestamp64Milli" if self.capabilities.time_precision == 3 else "toUnixTimestamp"
        row = self.rows(f"SELECT count(), sum({unit}(started_at)), sum({unit}(ended_at)), sum({unit}(updated_at)) "
                        f"FROM {table} WHERE {self.range_condition(day, day)}")[0]
        return tuple(int(x or 0) for x in row)

    def swap_statements(self, day: dt.date) -> list[str]:
        return [f"ALTER TABLE {self.table} REPLACE PARTITION {self.partition_literal(day)} "
                f"FROM {self.stage_table(day)}"]

    def swap_in(self, day: dt.date) -> None:
        for sql in self.swap_statements(day):
            self.execute(sql)

    def drop_day_statements(self, day: dt.date) -> list[str]:
        return [f"ALTER TABLE {self.table} DROP PARTITION {self.partition_literal(day)}"]

    def drop_day(self, day: dt.date) -> None:
        for sql in self.drop_day_statements(day):
            self.execute(sql)

    # -- mutations (the seed's options A and B, and repair) ------------------------------------
    def delete_where_statements(self, condition: str) -> list[str]:
        if self.capabilities.lightweight_delete:
            return [f"DELETE FROM {self.table} WHERE {condition}"]
        return [f"ALTER TABLE {self.table} DELETE WHERE {condition}"]

    def delete_range_statements(self, first: dt.date, last: dt.date) -> list[str]:
        return self.delete_where_statements(self.range_condition(first, last))

    def delete_keys_statements(self, day: dt.date, keys: list[str]) -> list[str]:
        if not keys:
            return []
        ids = ", ".join(f"'{uuid.UUID(k)}'" for k in keys)  # UUID() refuses anything but an id
        return self.delete_where_statements(f"{self.range_condition(day, day)} AND {KEY_COLUMN} IN ({ids})")

    def delete_keys_preview(self, day: dt.date, n: int) -> list[str]:
        """The delete of `delete_keys_statements`, with the id list summarised (for plans)."""
        return self.delete_where_statements(f"{self.range_condition(day, day)} AND {KEY_COLUMN} IN (<{n:,} ids>)")

    def pending_mutations(self) -> list[dict]:
        rows = self.rows(f"SELECT mutation_id, command, create_time, latest_fail_reason FROM system.mutations "
                         f"WHERE database = '{self.db}' AND table = '{self.spec.table}' AND is_done = 0")
        return [{"mutation_id": m, "command": c, "created": str(t), "fail_reason": f} for m, c, t, f in rows]

    def insert_day(self, day: dt.date, data: pa.Table, token: str) -> None:
        """Insert rows into the live table. `token` makes a retried insert idempotent where the
        server deduplicates inserts, and keeps a re-insert after a delete from being dropped."""
        if data.num_rows:
            self.insert_arrow(self.table, data)


_TIME = re.compile(r"^(DateTime64\(3,'UTC'\)|DateTime\('UTC'\))$")
_STRING = ("String", "LowCardinality(String)")
_TYPE_OK = {
    "conversation_id": lambda t: t == "UUID",
    "labels": lambda t: t == "Array(String)",
    "started_at": _TIME.match, "ended_at": _TIME.match, "updated_at": _TIME.match,
    **{c: (lambda t: t in _STRING) for c in ("customer_id", "profile_id", "usecase_id", "agent_user_id",
                                             "source_type")},
}
_TYPE_HINT = {"conversation_id": "UUID", "labels": "Array(String)",
              **{c: "DateTime64(3, 'UTC') or DateTime('UTC')" for c in ("started_at", "ended_at", "updated_at")},
              **{c: "String" for c in ("customer_id", "profile_id", "usecase_id", "agent_user_id", "source_type")}}


def _literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(int(value) if isinstance(value, bool) else value)


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
