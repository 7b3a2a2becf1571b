"""What ClickHouse says about a table an old job made, for `chsync spec new --sink-table`: its columns and
their types, the local table and sharding key behind a Distributed one, its ORDER BY, its partition key
and the zone its day column reads dates in."""

from __future__ import annotations

import dataclasses
import re

from ..errors import BadInput
from .base import ClickHouseSink
from .canonical import time_type
from .ddl import engine_clause


@dataclasses.dataclass(frozen=True)
class ChTable:
    database: str
    table: str                       # the local (MergeTree) table
    distributed: str | None          # the Distributed table over it, if any
    sharding_key: str | None
    columns: tuple[tuple[str, str], ...]
    order_by: tuple[str, ...]
    partition_key: str
    server_zone: str

    def partition(self) -> tuple[str, str] | None:
        """(grain "day" or "month", the column) of a partition key chsync can swap by, else None."""
        m = re.fullmatch(r"(toYYYYMMDD|toYYYYMM|toDate)\((\w+)(?:,\s*'[^']*')?\)", self.partition_key.strip())
        if not m:
            m2 = re.fullmatch(r"\w+", self.partition_key.strip())
            return ("day", m2.group(0)) if m2 else None
        return ("month" if m.group(1) == "toYYYYMM" else "day", m.group(2))

    def zone_of(self, column: str) -> str | None:
        """The zone a DateTime column reads dates in (its type's, else the server's); None for a Date."""
        kind = time_type(dict(self.columns).get(column, ""))
        return None if kind is None else (kind[1] or self.server_zone)


def describe(sink: ClickHouseSink, name: str) -> ChTable:
    db, _, table = name.rpartition(".")
    if not db:
        raise BadInput(f"--sink-table {name!r}: give it as database.table")
    engine = _engine(sink, db, table)
    distributed = sharding = None
    if engine.startswith("Distributed("):
        args = [a.strip().strip("'\"") for a in engine[len("Distributed("):-1].split(",", 3)]
        if len(args) < 3:
            raise BadInput(f"{name} is a Distributed table chsync cannot read the arguments of: {engine}")
        distributed, db, table = table, args[1], args[2]
        sharding = args[3] if len(args) > 3 else None
        engine = _engine(sink, db, table)
    rows = sink.rows(f"SELECT name, type FROM system.columns WHERE database = '{db}' AND table = '{table}'")
    # engine_full, not system.tables' partition_key and sorting_key: ClickHouse 18.16 has neither
    partition = engine_clause(engine, "PARTITION BY")
    order_by = tuple(c.strip() for c in engine_clause(engine, "ORDER BY").strip("()").split(",") if c.strip())
    zone = str(sink.rows("SELECT timezone()")[0][0])
    return ChTable(db, table, distributed, sharding, tuple((str(n), str(t)) for n, t in rows), order_by,
                   partition, zone)


def _engine(sink: ClickHouseSink, db: str, table: str) -> str:
    found = sink.rows(f"SELECT engine_full FROM system.tables WHERE database = '{db}' AND name = '{table}'")
    if not found:
        raise BadInput(f"the sink has no table {db}.{table}")
    return str(found[0][0])
