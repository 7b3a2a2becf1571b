"""What Postgres's catalogs say about one table, for `chsync spec new`: its columns (type as Postgres
prints it, enum or not, NOT NULL), its primary key, and the foreign key by which a child table points at it."""

from __future__ import annotations

import dataclasses

from ..errors import BadInput
from .postgres import PostgresSource


@dataclasses.dataclass(frozen=True)
class PgColumn:
    name: str
    type: str          # format_type(): "character varying(20)", "timestamp with time zone", "integer[]"
    is_enum: bool
    not_null: bool
    dimensions: int = 0   # as declared (int[][]: 2); Postgres's type name alone does not say


@dataclasses.dataclass(frozen=True)
class PgTable:
    name: str          # schema.table, as given
    columns: tuple[PgColumn, ...]
    primary_key: tuple[str, ...]


def describe(source: PostgresSource, name: str) -> PgTable:
    oid = _oid(source, name)
    columns = tuple(PgColumn(r[0], r[1], r[2] == "e", bool(r[3]), int(r[4])) for r in source.query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typtype::text, a.attnotnull, a.attndims "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (oid,)))
    key = tuple(r[0] for r in source.query(
        "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary ORDER BY a.attnum", (oid,)))
    return PgTable(name, columns, key)


def child_key(source: PostgresSource, child: str, parent: str) -> str:
    """The one column of `child` whose foreign key references `parent`."""
    found = [r[0] for r in source.query(
        "SELECT a.attname::text FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = c.conkey[1] WHERE c.contype = 'f' AND c.conrelid = %s AND c.confrelid = %s "
        "AND array_length(c.conkey, 1) = 1", (_oid(source, child), _oid(source, parent)))]
    if len(found) != 1:
        what = "no" if not found else "several"
        raise BadInput(f"{child} has {what} single-column foreign key to {parent}: chsync needs exactly one to "
                       f"gather the child rows of each {parent} row")
    return found[0]


def column_type(source: PostgresSource, table: str, column: str) -> str:
    rows = source.query("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s "
                        "AND attname = %s AND attnum > 0 AND NOT attisdropped", (_oid(source, table), column))
    if not rows:
        raise BadInput(f"{table} has no column {column!r}")
    return str(rows[0][0])


def _oid(source: PostgresSource, name: str) -> int:
    rows = source.query("SELECT to_regclass(%s)::oid::int", (name,))
    if not rows or rows[0][0] is None:
        raise BadInput(f"Postgres has no table {name!r}: give it as schema.table (e.g. public.orders)")
    return int(rows[0][0])
