"""The Postgres SQL of one table spec: the source set of a day range, its rows as the sink stores them,
their fingerprints, and why a row is not in it (stale reasons).

Every value from outside (parameters, days, ids) is a quoted literal, never a driver placeholder: the
spec's own SQL may hold `%` or `$1` (a LIKE pattern), which a driver would take for one.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from ..spec.model import Column, TableSpec
from ..spec.params import literal
from . import canonical as C

DAY = "chsync_day"
KEY = "chsync_key"
BREAKDOWN = "chsync_b"
HASH = "chsync_h"     # chsync's own names never meet a spec column's (load.py keeps chsync_ for them)
ORDERED = "chsync_u(chsync_e, chsync_i)"   # an ordered array's elements and their positions (from 1)
ORDERED_ELEMENT, ORDERED_POSITION = "chsync_u.chsync_e", "chsync_u.chsync_i"


class SourceSQL:
    def __init__(self, spec: TableSpec, precision: int):
        self.spec, self.precision = spec, precision

    # -- pieces --------------------------------------------------------------------------------
    @cached_property
    def base(self) -> tuple[str, str]:
        """(table, alias) of `[source] from`."""
        return base_table(self.spec.sql(self.spec.source_from))

    def raw_expr(self, col: Column) -> str:
        """The column's SQL as the spec writes it."""
        assert col.sql is not None, col.name
        return self.spec.sql(col.sql, f"{self.spec.origin}: column {col.name}")

    def expr(self, col: Column) -> str:
        """The column's value as chsync reads it: a timestamp (without time zone) as the instant its
        wall-clock reading names in UTC, so that it is stored, hashed and cut into days like a timestamptz
        whose UTC reading is that wall clock."""
        raw = self.raw_expr(col)
        return f"(({raw}) AT TIME ZONE 'UTC')" if col.type.kind == "timestamp" else raw

    @property
    def key_expr(self) -> str:
        return self.expr(self.spec.key_column)

    @property
    def key_text(self) -> str:
        """The key as text: how both sides name a row when they compare keys."""
        return f"({C.value(self.spec.key_column, self.key_expr, self.precision)})::text"

    @property
    def key_type(self) -> str:
        return {"uuid": "uuid", "bigint": "bigint", "int": "int", "text": "text"}[self.spec.key_column.type.kind]

    @property
    def day_expr(self) -> str:
        return self.expr(self.spec.day_column)

    def day_of_row(self) -> str:
        if self.spec.day_column.type.kind == "date":
            return f"({self.day_expr})"
        return f"(({self.day_expr}) AT TIME ZONE {literal(self.spec.day_timezone, 'tz')})::date"

    def day_range(self, first: dt.date, last: dt.date) -> str:
        lo, hi = first.isoformat(), (last + dt.timedelta(days=1)).isoformat()
        d = self.day_expr
        if self.spec.day_column.type.kind == "date":
            return f"({d}) >= DATE '{lo}' AND ({d}) < DATE '{hi}'"
        if self.spec.day_column.type.kind == "timestamp":   # on the column itself, so that its index serves
            d = self.raw_expr(self.spec.day_column)
            return f"({d}) >= TIMESTAMP '{lo}' AND ({d}) < TIMESTAMP '{hi}'"
        tz = literal(self.spec.day_timezone, "tz")
        return (f"({d}) >= ('{lo}'::timestamp AT TIME ZONE {tz}) "
                f"AND ({d}) < ('{hi}'::timestamp AT TIME ZONE {tz})")

    def joins(self) -> str:
        return " ".join(self.spec.sql(j, f"{self.spec.origin}: source.joins") for j in self.spec.joins)

    def predicates(self) -> list[str]:
        return [f"({self.spec.sql(p.sql, f'{self.spec.origin}: filter {p.reason}')})"
                for p in self.spec.predicates if p.sql]

    def source_set(self, first: dt.date, last: dt.date, extra: str = "") -> str:
        """FROM … WHERE …: the rows of the source set of [first, last]."""
        where = " AND ".join([*self.predicates(), self.day_range(first, last)])
        return f"FROM {self.spec.sql(self.spec.source_from)} {self.joins()} {extra} WHERE {where}"

    # -- values and hashes ---------------------------------------------------------------------
    def value(self, col: Column) -> str:
        """A scalar column's value as the sink stores it, or an array's when its row is read alone."""
        if col.type.is_array:
            elements, e = self.array_elements(col)
            return f"ARRAY(SELECT {self.stored_element(col, e)} {elements} ORDER BY {self.element_order(col, e)})"
        return C.value(col, self.expr(col), self.precision)

    @property
    def key_field(self) -> str:
        """The key's bytes, the first part of every hashed concatenation."""
        return C.hashed(self.spec.key_column, self.key_expr, self.precision)

    def scalar_hash(self) -> str:
        parts = [self.key_field]
        parts += [C.hashed(c, self.expr(c), self.precision) for c in self.spec.compared if not c.type.is_array]
        return C.md5_bits(" || ".join(parts), 60)

    def elements(self, col: Column) -> tuple[str, str]:
        """(FROM-clause addition, element expression) listing the elements of an array column."""
        if col.child is not None:
            ch = col.child
            return (f"JOIN {ch.table} chsync_ch ON chsync_ch.{ch.key} = {self.key_expr}",
                    element(f"chsync_ch.{ch.value}"))
        if col.type.element is not None:
            return f"CROSS JOIN LATERAL unnest({self.expr(col)}) WITH ORDINALITY AS {ORDERED}", ORDERED_ELEMENT
        return f"CROSS JOIN LATERAL unnest({self.expr(col)}) AS chsync_e", element("chsync_e")

    def element_hash(self, col: Column, element: str) -> str:
        if col.type.element is not None:
            return C.ordered_element_hash(self.key_field, col, element, ORDERED_POSITION, self.precision)
        return C.element_hash(self.key_field, col.name, element)

    def stored_element(self, col: Column, element: str) -> str:
        """An element as the sink stores it (an ordered array's through its type's value; text[]'s as text)."""
        return C.value(C.element_column(col), element, self.precision) if col.type.element is not None else element

    def element_order(self, col: Column, element: str) -> str:
        """An ordered array keeps Postgres's order; text[] is a multiset, stored sorted by bytes."""
        return ORDERED_POSITION if col.type.element is not None else f"{element} COLLATE \"C\""

    @property
    def arrays(self) -> list[Column]:
        return [c for c in self.spec.compared if c.type.is_array]

    def array_elements(self, col: Column) -> tuple[str, str]:
        """(FROM … WHERE … of one row's elements, element expression) for a subquery of that row."""
        if col.child is not None:
            ch = col.child
            return (f"FROM {ch.table} chsync_ch WHERE chsync_ch.{ch.key} = {self.key_expr}",
                    element(f"chsync_ch.{ch.value}"))
        if col.type.element is not None:
            return f"FROM unnest({self.expr(col)}) WITH ORDINALITY AS {ORDERED}", ORDERED_ELEMENT
        return f"FROM unnest({self.expr(col)}) AS chsync_e", element("chsync_e")

    def row_hash(self) -> str:
        """The whole row's hash (scalars + every array's elements), for one row at a time."""
        terms = [self.scalar_hash()]
        for col in self.arrays:
            elements, e = self.array_elements(col)
            terms.append(f"coalesce((SELECT sum({self.element_hash(col, e)}) {elements})::bigint, 0)")
        return " + ".join(terms)

    def array_laterals(self, with_hash: bool) -> str:
        """One lateral subquery per array column giving the row's sorted array (`v`) and, `with_hash`, the
        sum of its element hashes (`h`): the child table is looked up once per row, not once per use."""
        joins = []
        for i, col in enumerate(self.arrays):
            elements, e = self.array_elements(col)
            h = f", coalesce(sum({self.element_hash(col, e)})::bigint, 0) AS h" if with_hash else ""
            stored, order = self.stored_element(col, e), self.element_order(col, e)
            joins.append(f"CROSS JOIN LATERAL (SELECT coalesce(array_agg({stored} ORDER BY {order}), "
                         f"'{{}}') AS v{h} {elements}) AS chsync_a{i}")
        return " ".join(joins)

    # -- statements ----------------------------------------------------------------------------
    def day_fingerprints(self, first: dt.date, last: dt.date, *, by_breakdown: bool = False) -> str:
        """(day, rows, hash sum mod 2^64 as text) per day: the rows' and the arrays' hashes summed apart
        (one pass over each child table instead of a lookup per row). `by_breakdown`: per (day, breakdown
        value as text) instead, the value first (NULL for the arrays' share), so that the same pass
        counts the breakdown."""
        value = f"{self._breakdown_value()}, " if by_breakdown else ""
        parts = [f"SELECT {value}{self.day_of_row()} AS {DAY}, 1 AS chsync_n, {self.scalar_hash()} AS {HASH} "
                 f"{self.source_set(first, last)}"]
        for col in self.arrays:
            join, element = self.elements(col)
            parts.append(f"SELECT {'NULL::text, ' if by_breakdown else ''}{self.day_of_row()}, 0, "
                         f"{self.element_hash(col, element)} {self.source_set(first, last, join)}")
        group = f"{BREAKDOWN}, {DAY}" if by_breakdown else DAY
        return (f"SELECT {group}, sum(chsync_n)::bigint, (sum({HASH}) % 18446744073709551616)::text FROM ("
                + " UNION ALL ".join(parts) + f") AS chsync_rows GROUP BY {group}")

    def _breakdown_value(self) -> str:
        return f"{self._breakdown_text()} AS {BREAKDOWN}"

    def _breakdown_text(self) -> str:
        """The breakdown column's value as the sink stores it, as text (NULL stays NULL)."""
        col = self.spec.column(self.spec.breakdown or self.spec.key)
        return f"({C.value(col, self.expr(col), self.precision)})::text"

    def null_without_zero(self, first: dt.date, last: dt.date) -> str:
        """(day, key, column) of a row of the source set with a NULL in a non-nullable column whose type has
        no zero (the sink cannot hold it); no row when there is none."""
        cols = [c for c in self.spec.columns if not c.nullable and not c.type.has_zero and c.sql is not None]
        if not cols:
            return "SELECT NULL::date, NULL::text, NULL::text WHERE false"
        which = " ".join(f"WHEN ({self.expr(c)}) IS NULL THEN {literal(c.name, 'column')}" for c in cols)
        any_null = " OR ".join(f"({self.expr(c)}) IS NULL" for c in cols)
        return (f"SELECT {self.day_of_row()}, {self.key_text}, CASE {which} END "
                f"{self.source_set(first, last)} AND ({any_null}) LIMIT 1")

    def unholdable(self, first: dt.date, last: dt.date) -> str:
        """(day, key, column, value as text) of a row of the source set with a value the sink column cannot
        hold exactly: a numeric with more digits than declared, a date or time outside what ClickHouse
        stores; no row when there is none."""
        checks = []
        for c in self.spec.columns:
            if c.sql is None:
                continue
            x, t = f"({self.expr(c)})", c.type
            if t.kind == "numeric":
                raw = f"{x}::numeric"
                cond = f"({raw} <> round({raw}, {t.scale}) OR abs({raw}) >= 1e{t.precision - t.scale})"
            elif t.kind == "date":
                cond = f"({x} < DATE '1970-01-01' OR {x} > DATE '2149-06-06')"
            elif t.is_time:   # DateTime from 1970 to 2106; DateTime64 from 1900 to 2299
                lo, hi = ("1970-01-01", "2106-02-07") if self.precision == 0 else ("1900-01-01", "2299-12-31")
                cond = f"({x} < TIMESTAMPTZ '{lo} UTC' OR {x} >= TIMESTAMPTZ '{hi} UTC')"
            else:
                continue
            checks.append((c.name, x, cond))
        if not checks:
            return "SELECT NULL::date, NULL::text, NULL::text, NULL::text WHERE false"
        which = " ".join(f"WHEN {cond} THEN {literal(name, 'column')}" for name, _, cond in checks)
        value = " ".join(f"WHEN {cond} THEN ({x})::text" for _, x, cond in checks)
        return (f"SELECT {self.day_of_row()}, {self.key_text}, CASE {which} END, CASE {value} END "
                f"{self.source_set(first, last)} AND ({' OR '.join(cond for _, _, cond in checks)}) LIMIT 1")

    def day_counts(self, first: dt.date, last: dt.date) -> str:
        """(day, rows) of the source set: no hashing, for a cheap check of a pulled reading."""
        return f"SELECT {self.day_of_row()} AS {DAY}, count(*) {self.source_set(first, last)} GROUP BY 1"

    def day_hashes(self, day: dt.date) -> str:
        """(key as text, h) of the day's source set."""
        return f"SELECT {self.key_text} AS {KEY}, {self.row_hash()} AS {HASH} {self.source_set(day, day)}"

    def read(self, first: dt.date, last: dt.date, *, keys: list[str] | None = None, with_hash: bool = True) -> str:
        """The source set of [first, last] as sink rows (+ HASH); only these keys when given."""
        lateral = {c.name: f"chsync_a{i}" for i, c in enumerate(self.arrays)}
        cols = [f"{lateral[c.name]}.v AS {c.name}" if c.name in lateral else f"{self.value(c)} AS {c.name}"
                for c in self.spec.columns]
        if with_hash:
            cols.append(" + ".join([self.scalar_hash(), *(f"{a}.h" for a in lateral.values())]) + f" AS {HASH}")
        where = self.source_set(first, last, self.array_laterals(with_hash))
        if keys is not None:
            where += f" AND {self.key_expr} = ANY({self.key_array(keys)})"
        return f"SELECT {', '.join(cols)} {where}"

    def key_array(self, keys: list[str]) -> str:
        return array_literal(keys, self.key_type, "keys")

    def stale_reasons(self, days: list[str], keys: list[str]) -> str:
        """(day, reason, keys as one JSON text) for sink rows (days[i], keys[i]) that are not in the source
        set: `deleted` when no base row has the key, else the first predicate the row fails, else
        `day_moved` when its day differs, else `unknown` (it changed while the diff was reading).
        The base rows are found with `= ANY` (one scan against a hash of the keys, in parallel workers);
        joined straight to the pairs, Postgres would hash the whole base table instead."""
        table, alias = self.base
        checks = [f"WHEN {self.key_expr} IS NULL THEN 'deleted'"]
        for p in self.spec.predicates:
            checks.append(f"WHEN NOT coalesce(({self.spec.sql(p.sql or 'true')}), false) "
                          f"THEN {literal(p.reason, 'reason')}")
        checks.append(f"WHEN {self.day_of_row()} IS DISTINCT FROM chsync_k.chsync_day THEN 'day_moved'")
        key_array = self.key_array(keys)
        days_array = array_literal(days, "date", "days")
        return (f"SELECT chsync_k.chsync_day, CASE {' '.join(checks)} ELSE 'unknown' END AS reason, "
                f"json_agg(chsync_k.chsync_id::text)::text "
                f"FROM unnest({key_array}, {days_array}) AS chsync_k(chsync_id, chsync_day) "
                f"LEFT JOIN (SELECT {alias}.* FROM {self.spec.sql(self.spec.source_from)} "
                f"WHERE {self.key_expr} = ANY({key_array})) AS {alias} ON {self.key_expr} = chsync_k.chsync_id "
                f"{self.joins()} GROUP BY 1, 2")

    def breakdown(self, first: dt.date, last: dt.date) -> str:
        """(name, rows) of the breakdown column over the range (a value without a name counts under
        itself)."""
        v = self._breakdown_text()
        names = self.spec.breakdown_names
        if names is None:
            return f"SELECT coalesce({v}, ''), count(*) {self.source_set(first, last)} GROUP BY 1"
        join = f"LEFT JOIN {names.table} chsync_names ON chsync_names.{names.key}::text = {v}"
        return (f"SELECT coalesce(chsync_names.{names.value}::text, {v}, ''), count(*) "
                f"{self.source_set(first, last, join)} GROUP BY 1")

    def estimate(self, day: dt.date, last: dt.date | None = None) -> str:
        """Postgres's own estimate of the base rows of a day (or of the days to `last`): EXPLAIN, no scan."""
        return (f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {self.spec.sql(self.spec.source_from)} "
                f"WHERE {self.day_range(day, last or day)}")

    def child_rows(self) -> str:
        """Postgres's estimate of the rows of all child tables together (0 without any)."""
        tables = [literal(c.child.table, "table") for c in self.arrays if c.child is not None]
        if not tables:
            return "SELECT 0"
        return (f"SELECT coalesce(sum(greatest(reltuples, 0)), 0)::bigint FROM pg_class "
                f"WHERE oid IN ({', '.join(f'to_regclass({t})' for t in tables)})")


def element(expr: str) -> str:
    """An array element as text: a NULL element reads as '' (the sink's Array(String) has no NULL), as
    the pull path reads it (pull/transpile.py, pull/reader.py)."""
    return f"coalesce({expr}::text, '')"


def array_literal(values: list[str], type_: str, name: str) -> str:
    """`values` as one constant array of `type_` ('{"a","b"}'::uuid[]). A constant, not an array built by a
    subquery: the planner then knows how many elements it has (so a join with its unnest is hashed, not a
    nested loop that compares every pair: 120,000 stale keys took over 5 minutes that way) and `= ANY`
    tests it against a hash."""
    body = ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return f"{literal('{' + body + '}', name)}::{type_}[]"


def base_table(source_from: str) -> tuple[str, str]:
    """(table, alias) of a `[source] from` such as "orders o" or "public.orders"."""
    import sqlglot
    from sqlglot import exp

    from ..errors import BadInput
    try:
        tree = sqlglot.parse_one(f"SELECT 1 FROM {source_from}", read="postgres")
    except sqlglot.errors.ParseError:
        raise BadInput(f"source.from {source_from!r} is not a table with an optional alias") from None
    table = tree.find(exp.Table)
    if table is None or tree.args.get("joins"):
        raise BadInput(f"source.from {source_from!r} must be one table (joins go in source.joins)")
    name = ".".join(p for p in (table.db, table.name) if p)
    return name, table.alias_or_name
