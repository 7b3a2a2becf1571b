"""The sink's DDL from the spec, as pure functions (no connection): `spec show` prints it, `init` runs it,
`migrate` adds what the spec gained. The table's structure, its engine (ReplacingMergeTree on the
version column, Replicated on a cluster) and its partitions (by day or month of the day column)."""

from __future__ import annotations

import dataclasses
import re

from ..spec.model import Column, TableSpec
from .canonical import accepts, ch_type
from .capabilities import Capabilities


def day_partition(spec: TableSpec, grain: str) -> str:
    fn = "toYYYYMMDD" if grain == "day" else "toYYYYMM"
    tz = "" if spec.day_timezone == "UTC" or spec.day_column.type.kind == "date" else f", '{spec.day_timezone}'"
    return f"{fn}({spec.day}{tz})"


def engine(spec: TableSpec, name: str, replicated: bool) -> str:
    if replicated:
        db, table = name.split(".")
        path = f"/clickhouse/tables/{{shard}}/{db}/{table}"
        return f"ReplicatedReplacingMergeTree('{path}', '{{replica}}', {spec.version})"
    return f"ReplacingMergeTree({spec.version})"


def column_types(spec: TableSpec, caps: Capabilities) -> list[tuple[str, str]]:
    return [(c.name, ch_type(c, caps.time_precision, caps.low_cardinality)) for c in spec.columns]


@dataclasses.dataclass(frozen=True)
class Shape:
    """What a staging table must share with the live table it replaces partitions of (ClickHouse refuses
    REPLACE PARTITION otherwise): column types, partition key and ORDER BY, as an existing table has them."""
    types: dict[str, str]
    partition_key: str
    order_by: str


def local_table(spec: TableSpec, name: str, caps: Capabilities, *, on_cluster: str = "", replicated: bool = False,
                if_not_exists: bool = True, grain: str | None = None, like: Shape | None = None) -> str:
    types = column_types(spec, caps) if like is None else [(c.name, like.types[c.name]) for c in spec.columns]
    cols = ",\n  ".join(f"{c} {t}" for c, t in types)
    order = spec.sink.order_by
    order_by = order[0] if len(order) == 1 else f"({', '.join(order)})"
    partition = day_partition(spec, grain or spec.sink.partition)
    if like is not None:
        partition, order_by = like.partition_key, like.order_by
    return (f"CREATE TABLE {'IF NOT EXISTS ' if if_not_exists else ''}{name}{on_cluster} (\n  {cols}\n) "
            f"ENGINE = {engine(spec, name, replicated)} PARTITION BY {partition} ORDER BY {order_by}")


def engine_clause(engine_full: str, name: str) -> str:
    """One clause ("PARTITION BY", "ORDER BY") of a table's system.tables.engine_full, or ''. engine_full, not
    system.tables' partition_key / sorting_key: ClickHouse 18.16 has neither."""
    m = re.search(rf"{name} (.+?)(?: ORDER BY| PARTITION BY| PRIMARY KEY| SAMPLE BY| SETTINGS| TTL|$)", engine_full)
    return m.group(1).strip() if m else ""


def distributed_table(name: str, local: str, cluster: str, sharding_key: str) -> str:
    db, table = local.split(".")
    return (f"CREATE TABLE IF NOT EXISTS {name} ON CLUSTER {cluster} AS {local} "
            f"ENGINE = Distributed({cluster}, {db}, {table}, {sharding_key})")


@dataclasses.dataclass
class SchemaChange:
    """How the sink table's columns differ from the spec's."""
    added: list[Column]                   # in the spec, not in the table: `migrate` adds them
    dropped: list[str]                    # in the table, not in the spec (or renamed)
    retyped: list[tuple[Column, str]]     # (the spec's column, the table's type)

    @property
    def migratable(self) -> bool:
        return not self.dropped and not self.retyped

    def describe(self) -> list[str]:
        lines = [f"column {c.name} ({c.type}) is in the spec but not in the sink table: `chsync migrate` adds it"
                 for c in self.added]
        lines += [f"column {name} is in the sink table but not in the spec (dropped or renamed)"
                  for name in self.dropped]
        lines += [f"column {c.name} is declared {c.type} but the sink table has {found}" for c, found in self.retyped]
        return lines


def compare(spec: TableSpec, found: dict[str, str]) -> SchemaChange:
    """`found`: {column: ClickHouse type} of the sink table."""
    declared = {c.name for c in spec.columns}
    return SchemaChange(
        added=[c for c in spec.columns if c.name not in found],
        dropped=[name for name in found if name not in declared],
        retyped=[(c, found[c.name]) for c in spec.columns if c.name in found and not accepts(c, found[c.name])])


def add_columns(spec: TableSpec, tables: list[str], added: list[Column], caps: Capabilities,
                on_cluster: str = "") -> list[str]:
    """ALTER TABLE … ADD COLUMN for each table (the local one and, on a cluster, the Distributed one), each
    new column placed after the column the spec declares before it."""
    order = spec.names
    statements = []
    for table in tables:
        for col in added:
            before = order[order.index(col.name) - 1] if order.index(col.name) else None
            statements.append(f"ALTER TABLE {table}{on_cluster} ADD COLUMN {col.name} "
                              f"{ch_type(col, caps.time_precision, caps.low_cardinality)}"
                              f"{f' AFTER {before}' if before else ''}")
    return statements
