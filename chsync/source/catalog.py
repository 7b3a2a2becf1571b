"""The spec against the live Postgres: every table and column it names exists, every declared type matches
what the expression gives, and every join is on a unique key (else a base row would be counted once per
match). Run before anything is read or written; a mismatch is one line, exit 2."""

from __future__ import annotations

import dataclasses

from ..errors import BadInput, RuntimeFailure
from ..spec.model import TableSpec
from .postgres import PostgresSource
from .sql import SourceSQL

# Postgres type oids → the spec types they can be declared as.
OIDS = {
    2950: ("uuid",), 20: ("bigint",), 23: ("int", "bigint"), 21: ("smallint", "int", "bigint"),
    25: ("text",), 1043: ("text",), 1042: ("text",), 19: ("text",), 16: ("boolean",), 1082: ("date",),
    1184: ("timestamptz",), 1114: ("timestamp",), 1700: ("numeric",), 701: ("double",), 700: ("real", "double"),
    17: ("bytea",), 114: ("json",), 3802: ("jsonb",), 869: ("inet",), 1083: ("time",), 1186: ("interval",),
    1009: ("text[]",), 1015: ("text[]",), 1005: ("smallint[]",), 1007: ("int[]",), 1016: ("bigint[]",),
    2951: ("uuid[]",), 1000: ("boolean[]",), 1182: ("date[]",), 1185: ("timestamptz[]",), 1231: ("numeric[]",),
    1022: ("double[]",),
}
TYPE_NAMES = {2950: "uuid", 20: "bigint", 23: "integer", 21: "smallint", 25: "text", 1043: "varchar",
              1042: "char", 19: "name", 16: "boolean", 1082: "date", 1184: "timestamptz", 1114: "timestamp",
              1700: "numeric", 701: "double precision", 700: "real", 17: "bytea", 114: "json", 3802: "jsonb",
              869: "inet", 1083: "time", 1186: "interval", 1009: "text[]", 1015: "varchar[]", 1005: "smallint[]",
              1007: "integer[]", 1016: "bigint[]", 2951: "uuid[]", 1000: "boolean[]", 1182: "date[]",
              1185: "timestamptz[]", 1231: "numeric[]", 1022: "double precision[]"}


@dataclasses.dataclass
class Finding:
    level: str        # "error" | "warning"
    message: str


def check(source: PostgresSource, spec: TableSpec) -> list[Finding]:
    """Everything wrong with `spec` against this Postgres (errors first); [] when all is well."""
    sql = SourceSQL(spec, 3)
    try:
        _explain(source, sql)
    except BadInput as e:
        return [Finding("error", str(e))]
    findings = _types(source, spec, sql)
    findings += _joins(source, spec)
    findings += _lookups(source, spec)
    findings.sort(key=lambda f: f.level != "error")
    return findings


def require(source: PostgresSource, spec: TableSpec) -> None:
    """Raise BadInput with the first error, if any."""
    for finding in check(source, spec):
        if finding.level == "error":
            raise BadInput(finding.message)


def _rejects(source: PostgresSource, spec: TableSpec, text: str, what: str) -> None:
    import psycopg
    try:
        with source.pg.cursor() as cur:
            cur.execute(text)
            if cur.description is not None:
                cur.fetchall()
    except psycopg.errors.Error as e:
        if isinstance(e, (psycopg.OperationalError, psycopg.errors.QueryCanceled)):
            raise RuntimeFailure(f"Postgres failed while checking the spec: {str(e).strip().splitlines()[0]}") \
                from None
        first = str(e).strip().splitlines()[0]
        raise BadInput(f"{spec.origin}: Postgres rejects {what}: {first}") from None


def _explain(source: PostgresSource, sql: SourceSQL) -> None:
    """Every name the spec's SQL uses resolves (planning only: nothing is read)."""
    import datetime as dt
    day = dt.date(2000, 1, 1)
    spec = sql.spec
    for col in spec.columns:
        if col.child is not None:
            ch = col.child
            _rejects(source, spec, f"EXPLAIN SELECT {ch.key}, {ch.value}::text FROM {ch.table}",
                     f"column {col.name}'s child table {ch.table} ({ch.key}, {ch.value})")
    columns = ", ".join(f"{sql.value(c)} AS {c.name}" for c in spec.columns)
    _rejects(source, spec, f"EXPLAIN SELECT {columns}, {sql.row_hash()} {sql.source_set(day, day)}",
             "the spec's columns, joins or filter")


def _types(source: PostgresSource, spec: TableSpec, sql: SourceSQL) -> list[Finding]:
    scalar = [c for c in spec.columns if c.sql is not None]
    if not scalar:
        return []
    exprs = ", ".join(f"({sql.raw_expr(c)}) AS {c.name}" for c in scalar)
    with source.pg.cursor() as cur:
        cur.execute(f"SELECT {exprs} FROM {spec.sql(spec.source_from)} {sql.joins()} LIMIT 0")
        oids = [d.type_code for d in cur.description]
    enums = _enum_oids(source, set(oids))
    found = []
    for col, oid in zip(scalar, oids):
        kinds = ("enum",) if oid in enums else OIDS.get(oid, ())
        if col.type.kind not in kinds:
            pg = TYPE_NAMES.get(oid, f"type oid {oid}")
            pg = enums.get(oid, pg)
            hint = " (declare it timestamp)" if oid == 1114 else " (declare it enum)" if oid in enums else ""
            found.append(Finding("error", f"{spec.origin}: column {col.name} is declared {col.type} but Postgres "
                                          f"gives {pg}{hint}: fix its type or its sql"))
    return found + _dimensions(source, spec) + _nullability(source, spec)


def _enum_oids(source: PostgresSource, oids: set[int]) -> dict[int, str]:
    """The enum types among `oids`, by their names."""
    known = {o for o in oids if o not in OIDS and o not in TYPE_NAMES}
    if not known:
        return {}
    listed = ",".join(str(int(o)) for o in known)
    return {r[0]: f"enum {r[1]}" for r in source.query(
        f"SELECT oid::int, typname::text FROM pg_type WHERE typtype = 'e' AND oid IN ({listed})")}


def _dimensions(source: PostgresSource, spec: TableSpec) -> list[Finding]:
    """An array column declared with several dimensions (int[][]): its elements have no single order."""
    from .sql import base_table
    table, alias = base_table(spec.sql(spec.source_from))
    deep = {r[0] for r in source.query("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                                       "AND attndims > 1 AND NOT attisdropped", (table,))}
    return [Finding("error", f"column {col.name}: {table}.{col.sql.strip().split('.')[-1]} is a multidimensional "
                             "array, which chsync does not compare: leave it out, or cast it to text in sql")
            for col in spec.columns if col.type.is_array and col.sql and col.sql.strip().split(".")[-1] in deep
            and col.sql.strip() == f"{alias}.{col.sql.strip().split('.')[-1]}"]


def _nullability(source: PostgresSource, spec: TableSpec) -> list[Finding]:
    """A column declared non-nullable whose Postgres column allows NULL: a NULL becomes the type's zero
    (text, numbers, booleans) or fails the day naming the key (uuid, date, time)."""
    from .sql import base_table
    table, alias = base_table(spec.sql(spec.source_from))
    nullable = {r[0] for r in source.query(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attnotnull "
        "AND NOT attisdropped", (table,))}
    found = []
    for col in spec.columns:
        if col.nullable or col.type.is_array or col.sql is None or col.name in (spec.key, spec.day) or \
                col.sql.strip() != f"{alias}.{col.sql.strip().split('.')[-1]}":
            continue
        name = col.sql.strip().split(".")[-1]
        if name in nullable:
            what = ("NULL reads as the zero of its type" if col.type.has_zero
                    else "a NULL fails its day, naming the key")
            found.append(Finding("warning", f"column {col.name}: {table}.{name} allows NULL but the spec does not "
                                            f"({what}); mark it nullable = true to keep NULLs apart"))
    return found


def _joins(source: PostgresSource, spec: TableSpec) -> list[Finding]:
    import sqlglot
    from sqlglot import exp
    found = []
    for text in spec.joins:
        joined = spec.sql(text)
        tree = sqlglot.parse_one(f"SELECT 1 FROM chsync_base {joined}", read="postgres")
        for join in tree.args.get("joins") or []:
            if (join.args.get("side") or "").upper() != "LEFT":
                found.append(Finding("error", f"{spec.origin}: join {text!r} must be a LEFT JOIN: a row that "
                                              "loses its match must stay, so the filter can name why it left"))
                continue
            table = join.this
            name = ".".join(p for p in (table.db, table.name) if p)
            alias = table.alias_or_name
            on = join.args.get("on")
            columns = set()
            for eq in (on.find_all(exp.EQ) if on is not None else []):
                for side, other in ((eq.this, eq.expression), (eq.expression, eq.this)):
                    if isinstance(side, exp.Column) and side.table == alias and \
                            not any(c.table == alias for c in other.find_all(exp.Column)):
                        columns.add(side.name)
            unique = source.query(
                "SELECT array_agg(a.attname::text) FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisunique AND i.indpred IS NULL "
                "GROUP BY i.indexrelid", (name,))
            if not any(set(cols) <= columns for cols, in unique):
                found.append(Finding("error", f"{spec.origin}: join {text!r} is not on a unique key of {name} "
                                              f"(its ON uses {', '.join(sorted(columns)) or 'no equality'}): a row "
                                              "would count once per match; join on a primary key or unique index"))
    return found


def _lookups(source: PostgresSource, spec: TableSpec) -> list[Finding]:
    checks = []
    if spec.breakdown_names:
        n = spec.breakdown_names
        checks.append((f"SELECT {n.key}, {n.value} FROM {n.table} LIMIT 0", f"report.breakdown_names ({n.table})"))
    if spec.customers:
        c = spec.customers
        checks.append((f"SELECT {c.key}, {c.value} FROM {c.table} LIMIT 0", f"tenant.customers ({c.table})"))
    if spec.units:
        u = spec.units
        checks.append((f"SELECT {u.customer} FROM {u.table} LIMIT 0", f"tenant.units ({u.table})"))
    found = []
    for text, what in checks:
        try:
            _rejects(source, spec, text, what)
        except BadInput as e:
            found.append(Finding("error", str(e)))
    return found

