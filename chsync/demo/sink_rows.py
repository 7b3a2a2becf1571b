"""The old job's copy of a generated world, written through the sink API as Arrow tables of the sink's
columns (the types PostgresSource.read_day gives: numeric as decimal128, times in UTC truncated to the
sink's precision, uuid as text). Per partition, the duplicates' older rows go in first, in their own
INSERT (chDB collapses duplicates inside one), then the rest in one more: a partition of more parts gets
merged in the background, and ReplacingMergeTree's merges would collapse the duplicates meant to stay."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from ..sink.base import ClickHouseSink
from ..spec.model import Column, TableSpec
from .values import stored
from .world import World


def arrow_type(col: Column) -> pa.DataType:
    t = col.type
    if t.kind == "numeric":
        return pa.decimal128(t.precision, t.scale)
    return {"uuid": pa.string(), "bigint": pa.int64(), "int": pa.int32(), "text": pa.string(),
            "boolean": pa.bool_(), "date": pa.date32(), "timestamptz": pa.timestamp("us", tz="UTC"),
            "double": pa.float64(), "text[]": pa.list_(pa.string())}[t.kind]


def arrow_table(spec: TableSpec, rows: list[dict], precision: int) -> pa.Table:
    return pa.table({c.name: pa.array([stored(c, r[c.name], precision) for r in rows], arrow_type(c))
                     for c in spec.columns})


def write(sink: ClickHouseSink, world: World, seed: int) -> int:
    """Empty the sink table and write the world's sink rows; returns how many."""
    spec = world.rows.spec
    precision = sink.capabilities.time_precision
    monthly = sink.capabilities.partition_grain == "month"
    sink.truncate()
    batches: dict[tuple, list[dict]] = defaultdict(list)
    for r in world.sink:
        batches[(r.day.replace(day=1) if monthly else r.day, r.batch)].append(r.values)
    for (first, batch), rows in sorted(batches.items()):
        sink.insert_day(first, arrow_table(spec, rows, precision), token=f"demo-{seed}-{first}-{batch}")
    return len(world.sink)
