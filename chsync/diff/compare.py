"""The pure logic of the diff: one day's (key, hash) pairs of both sides into classes, and which columns of
a changed row differ. No database here (tests/test_compare.py runs these alone)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import struct
from collections import Counter, defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..source.sql import HASH
from ..spec.model import Column
from .result import DayDiff

KEY = "chsync_key"


def compare_day(source: pa.Table, sink: pa.Table) -> DayDiff:
    """`source`: one row per key; `sink`: one row per sink row (keys repeat for duplicates). Columns:
    chsync_key, chsync_h (HASH).
    - missing: in the source set, not in the sink
    - stale: in the sink, not in the source set
    - changed: in both, and no sink row of the key carries the source's row hash
    - duplicates: more than one sink row for the key"""
    src = dict(zip(source.column(KEY).to_pylist(), source.column(HASH).to_pylist()))
    sink_keys = sink.column(KEY).to_pylist()
    sink_hashes: dict[str, set[int]] = defaultdict(set)
    for key, h in zip(sink_keys, sink.column(HASH).to_pylist()):
        sink_hashes[key].add(h)
    row_counts = Counter(sink_keys)
    return DayDiff(
        missing=sorted(k for k in src if k not in sink_hashes),
        stale=sorted(k for k in sink_hashes if k not in src),
        changed=sorted(k for k, h in src.items() if k in sink_hashes and h not in sink_hashes[k]),
        duplicates=sorted(k for k, n in row_counts.items() if n > 1),
    )


def normal(column: Column, value: Any) -> Any:
    """A value as both sides can be compared: arrays as sorted multisets, times as naive UTC, booleans as
    0/1, numbers as Decimals (ClickHouse hands Decimal and Float back as Python numbers of its own), doubles
    by their bits, as the fingerprint sees them (-0.0 is not 0.0 there)."""
    kind = column.type.kind
    if value is None:
        return None
    if column.type.element is not None:   # ordered, NULL elements kept
        item = dataclasses.replace(column, type=column.type.element, nullable=True)
        return [normal(item, v) for v in value]
    if column.type.is_array:
        return sorted(value)
    if column.type.is_time and isinstance(value, int):   # chDB hands a DateTime over as its epoch seconds
        return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if kind == "boolean":
        return int(value)
    if kind == "numeric":
        return decimal.Decimal(str(value)).normalize()
    if kind == "uuid" or column.type.is_textual:
        return str(value)
    if kind == "double":
        return struct.pack(">d", value)
    if kind == "real":
        return struct.pack(">f", value)
    if kind == "bytea":   # the sink reads it as hex (SinkBase.read_keys), Postgres as bytes
        return value.upper() if isinstance(value, str) else bytes(value).hex().upper()
    return value


def changed_columns(source_row: dict, sink_rows: list[dict], columns: list[Column]) -> list[str]:
    """Columns in which the sink row closest to the source row differs from it."""
    best: list[str] | None = None
    for row in sink_rows:
        diff = [c.name for c in columns if normal(c, row.get(c.name)) != normal(c, source_row.get(c.name))]
        if best is None or len(diff) < len(best):
            best = diff
    return best or []


def agree(source: tuple[int, int], sink: dict | None) -> bool:
    """A day is in sync when the sink holds as many rows as distinct keys as the source, and the hash sums
    are equal."""
    sink = sink or {"rows": 0, "distinct": 0, "hash_sum": 0}
    return source[0] == sink["rows"] == sink["distinct"] and source[1] == sink["hash_sum"]


def hash_sum(h: pa.ChunkedArray | pa.Array) -> int:
    """Sum of hashes below 2^63 mod 2^64, exact: summed as two 31-bit halves so int64 cannot overflow."""
    if len(h) == 0:
        return 0
    high = pc.sum(pc.shift_right(h, 31)).as_py() or 0
    low = pc.sum(pc.bit_wise_and(h, (1 << 31) - 1)).as_py() or 0
    return ((high << 31) + low) % (1 << 64)
