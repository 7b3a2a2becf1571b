"""The generated source tables in Postgres: (re)created with primary keys on the key and on the join
keys (so the spec check's unique-join rule holds), child tables indexed on their key, each marked as the
generator's own, and filled with COPY. A table of the same name that the generator did not make is
never dropped: that is refused (exit 3) before anything changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Refused
from ..spec.types import ColumnType
from .generate import MARK
from .source_model import Table

if TYPE_CHECKING:
    import psycopg

PG_TYPES = {"uuid": "uuid", "bigint": "bigint", "int": "integer", "text": "text", "boolean": "boolean",
            "date": "date", "timestamptz": "timestamptz", "double": "double precision", "text[]": "text[]"}


def pg_type(t: ColumnType) -> str:
    return f"numeric({t.precision},{t.scale})" if t.kind == "numeric" else PG_TYPES[t.kind]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def refuse_foreign(conn: Any, tables: list[Table]) -> None:
    for table in tables:
        exists, note = conn.execute("SELECT to_regclass(%s) IS NOT NULL, "
                                    "coalesce(obj_description(to_regclass(%s), 'pg_class'), '')",
                                    (table.name, table.name)).fetchone()
        if exists and note != MARK:
            raise Refused(f"the source already has a table {table.name} that chsync did not generate: refusing to "
                          "replace it (use an empty database, e.g. `chsync embedded up`)")


def create(conn: psycopg.Connection, tables: list[Table]) -> None:
    """Drop and recreate the tables (refuse_foreign first: only the generator's own are dropped)."""
    conn.execute(f"DROP TABLE IF EXISTS {', '.join(t.name for t in tables)} CASCADE")
    for table in tables:
        if "." in table.name:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {table.name.rsplit('.', 1)[0]}")
        columns = [f"{quote(c)} {pg_type(t)}{'' if c in table.nullable else ' NOT NULL'}"
                   for c, t in table.columns.items()]
        if table.primary_key:
            columns.append(f"PRIMARY KEY ({', '.join(quote(c) for c in table.primary_key)})")
        conn.execute(f"CREATE TABLE {table.name} ({', '.join(columns)})")
        conn.execute(f"COMMENT ON TABLE {table.name} IS '{MARK}'")
        if table.index:
            conn.execute(f"CREATE INDEX ON {table.name} ({quote(table.index)})")


def fill(conn: psycopg.Connection, table: Table, rows: list[dict]) -> None:
    columns = list(table.columns)
    with conn.cursor() as cur, \
            cur.copy(f"COPY {table.name} ({', '.join(quote(c) for c in columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
    conn.execute(f"ANALYZE {table.name}")
