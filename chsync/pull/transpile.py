"""The spec's source set in ClickHouse SQL, for a sink that reads Postgres itself through postgresql().

The spec's SQL is Postgres; it is transpiled with sqlglot, never rewritten by hand. Predicates that only
touch the base table go into a subquery on it, which postgresql() hands to Postgres (it pushes WHERE down,
not joins). Transpiling is syntax only: what sqlglot cannot carry over, or what means something else in
ClickHouse (integer division), makes the spec "not pullable" with the reason, and chsync pushes instead.
Every pulled day is still checked against Postgres's own fingerprint before it replaces anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from ..secrets import scrub
from ..spec.model import Column, TableSpec

DAY = "chsync_day"   # the pulled row's day: chsync's own names never meet a spec column's (load.py keeps chsync_)


# Types postgresql() hands over as a text that is not the value: chsync reads these tables itself.
NOT_PULLED = {"bytea": "postgresql() reads a bytea as its escaped text, not its bytes",
              "interval": "postgresql() reads an interval as text in the server session's IntervalStyle"}


class NotPullable(Exception):
    """The spec's SQL cannot be carried into ClickHouse faithfully; str() says which part and why."""


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
    def from_dsn(cls, dsn: str) -> PgLink:
        parts = urlsplit(dsn)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432, unquote(parts.path.lstrip("/")) or "postgres",
                   unquote(parts.username or "postgres"), unquote(parts.password or ""))

    def table(self, name: str) -> str:
        schema, _, table = name.rpartition(".")
        args = [f"{self.host}:{self.port}", self.database, table, self.user, self.password]
        if schema:
            args.append(schema)
        return f"postgresql({', '.join(sql_string(a) for a in args)})"

    def scrub(self, text: str) -> str:
        return scrub(text, self.password)


def _to_clickhouse(sql: str, what: str) -> str:
    import sqlglot
    from sqlglot import exp
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError as e:
        raise NotPullable(f"{what}: sqlglot cannot read it ({str(e).splitlines()[0]})") from None
    if any(True for _ in tree.find_all(exp.Div)):
        raise NotPullable(f"{what}: '/' divides integers in Postgres but not in ClickHouse")
    try:
        out = tree.sql(dialect="clickhouse", unsupported_level=sqlglot.ErrorLevel.RAISE)
        sqlglot.parse_one(out, read="clickhouse")
    except (sqlglot.errors.UnsupportedError, sqlglot.errors.ParseError) as e:
        raise NotPullable(f"{what}: no ClickHouse equivalent ({str(e).splitlines()[0]})") from None
    return out


def _aliases(sql: str) -> set[str]:
    import sqlglot
    from sqlglot import exp
    return {c.table for c in sqlglot.parse_one(sql, read="postgres").find_all(exp.Column)}


def _conjuncts(sql: str) -> list[str]:
    """A predicate's top-level AND terms (a row passes when each of them is true), so that a term on the
    base table alone reaches Postgres even when another term needs a join: `c.customer_id = 'x' AND
    p.customer_id = 'x'` lets Postgres use an index on customer_id instead of scanning the whole table."""
    import sqlglot
    from sqlglot import exp
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError:
        return [sql]   # _to_clickhouse says why

    def terms(node: exp.Expr) -> list[exp.Expr]:
        while isinstance(node, exp.Paren):
            node = node.this
        return [*terms(node.left), *terms(node.right)] if isinstance(node, exp.And) else [node]
    found = terms(tree)
    return [sql] if len(found) == 1 else [term.sql(dialect="postgres") for term in found]


@dataclasses.dataclass(frozen=True)
class Join:
    table: str
    alias: str
    on: str          # ClickHouse SQL


class PulledSource:
    """The spec's source set as ClickHouse SQL over postgresql() tables."""

    def __init__(self, spec: TableSpec, link: PgLink, precision: int):
        from ..source.sql import base_table
        for col in spec.columns:
            if col.type.kind in NOT_PULLED:
                raise NotPullable(f"column {col.name}: {NOT_PULLED[col.type.kind]}")
            if col.type.element is not None:
                raise NotPullable(f"column {col.name}: an array of {col.type.element} is read by chsync itself "
                                  "(postgresql() drops its NULL elements' place)")
        self.spec, self.link, self.precision = spec, link, precision
        self.base, self.alias = base_table(spec.sql(spec.source_from))
        self.joins = [self._join(spec.sql(j)) for j in spec.joins]
        self.pushed: list[str] = []     # predicates on the base table alone, pushed down to Postgres
        self.outer: list[str] = []      # the others, after the joins
        for p in spec.predicates:
            for sql in _conjuncts(spec.sql(p.sql or "true")):
                target = self.pushed if _aliases(sql) <= {self.alias} else self.outer
                target.append(f"({_to_clickhouse(sql, f'filter {p.reason}')})")
        self.columns = {c.name: _to_clickhouse(spec.sql(c.sql), f"column {c.name}") for c in spec.columns if c.sql}
        self.day_sql = self.columns[spec.day]
        if not _aliases(spec.sql(spec.day_column.sql or "")) <= {self.alias}:
            raise NotPullable(f"column {spec.day}: the day must come from the base table")

    def _join(self, text: str) -> Join:
        import sqlglot
        from sqlglot import exp
        tree = sqlglot.parse_one(f"SELECT 1 FROM {self.alias} {text}", read="postgres")
        joins = tree.args.get("joins") or []
        if len(joins) != 1 or not isinstance(joins[0].this, exp.Table) or joins[0].args.get("on") is None:
            raise NotPullable(f"join {text!r}: only `LEFT JOIN table alias ON ...` can be pulled")
        join = joins[0]
        table = ".".join(p for p in (join.this.db, join.this.name) if p)
        return Join(table, join.this.alias_or_name, _to_clickhouse(join.args["on"].sql("postgres"), f"join {text!r}"))

    # -- pieces --------------------------------------------------------------------------------
    def day_bounds(self, first: dt.date, last: dt.date) -> tuple[str, str]:
        """The range as naive UTC literals (postgresql() hands timestamptz over as naive UTC)."""
        if self.spec.day_column.type.kind == "date":
            return first.isoformat(), (last + dt.timedelta(days=1)).isoformat()
        zone = ZoneInfo(self.spec.day_timezone)

        def utc(day: dt.date) -> str:
            local = dt.datetime.combine(day, dt.time(), zone)
            return local.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        return utc(first), utc(last + dt.timedelta(days=1))

    def day_of(self, expr: str) -> str:
        tz = "" if self.spec.day_timezone == "UTC" else f", {sql_string(self.spec.day_timezone)}"
        return f"toDate({expr}{tz})"

    def value(self, col: Column, expr: str) -> str:
        """The column as the sink stores it (a non-nullable NULL as the zero of its type). Times arrive as
        naive UTC (the session zone) and are truncated to the sink's precision."""
        from ..sink.canonical import ch_type
        if col.type.is_time:
            return (f"toDateTime64({expr}, {self.precision}, 'UTC')" if self.precision
                    else f"toDateTime(toStartOfSecond(toDateTime64({expr}, 6, 'UTC')), 'UTC')")
        target = ch_type(dataclasses.replace(col, nullable=False), self.precision, False)
        if col.nullable:
            return f"CAST({expr} AS Nullable({target}))"
        zero = {"text": "''", "bigint": "0", "int": "0", "smallint": "0", "boolean": "0", "double": "0",
                "real": "0", "numeric": "0"}.get(col.type.kind)
        inner = f"ifNull({expr}, {zero})" if zero is not None else f"assumeNotNull({expr})"
        return f"CAST({inner} AS {target})"

    def filtered(self, first: dt.date, last: dt.date, extra: list[str]) -> str:
        """SELECT <extra> FROM the window's filtered rows (the base and its joins)."""
        lo, hi = self.day_bounds(first, last)
        pushed = " AND ".join([*self.pushed, f"{self.day_sql} >= '{lo}'", f"{self.day_sql} < '{hi}'"])
        joins = " ".join(f"LEFT JOIN {self.link.table(j.table)} AS {j.alias} ON {j.on}" for j in self.joins)
        where = f" WHERE {' AND '.join(self.outer)}" if self.outer else ""
        return (f"SELECT {', '.join(extra)} FROM (SELECT * FROM {self.link.table(self.base)} AS {self.alias} "
                f"WHERE {pushed}) AS {self.alias} {joins}{where}")

    def scalars(self, *, text_key: bool) -> list[str]:
        """`value AS name` of the key and every scalar column, plus the row's day."""
        out = []
        for col in self.spec.columns:
            if col.type.is_array and col.child is not None:
                continue
            expr = self.columns[col.name]
            if col.name == self.spec.key and text_key:
                out.append(f"toString({expr}) AS {col.name}")
            elif col.type.is_array:
                # a NULL element reads as '' (the sink's Array(String) has no NULL), as in Postgres's read
                out.append(f"arraySort(arrayMap(x -> ifNull(toString(x), ''), ifNull({expr}, []))) AS {col.name}")
            else:
                out.append(f"{self.value(col, expr)} AS {col.name}")
        out.append(f"{self.day_of(self.day_sql)} AS {DAY}")
        return out

    @property
    def child_arrays(self) -> list[Column]:
        return [c for c in self.spec.columns if c.child is not None]
