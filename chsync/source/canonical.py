"""How Postgres reads and fingerprints each declared type. The fingerprint must equal the one ClickHouse
computes for the stored row (sink/canonical.py); tests/test_fingerprint.py checks both for random specs
and rows. The rules, shared by both sides (docs/ARCHITECTURE.md, "Fingerprints"):

- a row's hash is 60 bits of md5 over the canonical texts of the key and every scalar column, in declared
  order, each ended by `;` (a type whose text never holds one, `ColumnType.terminated`) or prefixed by
  its length (text); a nullable column's NULL is `N` (`N;` when terminated);
- each element of an array column adds 44 bits of md5 over (key, column name, element): arrays are
  multisets, so order never matters and no collation is involved; up to 2^18 elements per row keep the
  sum inside a bigint;
- a timestamptz is its epoch in milliseconds, at the sink's precision (an integer: several times cheaper
  for Postgres than formatting a date, and the same in every time zone and DateStyle);
- a day's fingerprint is (rows, sum of row hashes mod 2^64).

The session runs with TimeZone=UTC and DateStyle=ISO (postgres.py), which the texts below rely on.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..spec.model import Column
from ..spec.types import ColumnType

MOD64 = 1 << 64


def enc(text: str) -> str:
    """Length-prefixed, so a concatenation of texts is unambiguous whatever they hold."""
    return f"(octet_length({text})::text || ':' || {text})"


def field(t: ColumnType, text: str) -> str:
    """One canonical text as a part of a concatenation that stays unambiguous."""
    return f"({text} || ';')" if t.terminated else enc(text)


def md5_bits(text: str, bits: int) -> str:
    return f"('x' || left(md5({text}), {bits // 4}))::bit({bits})::bigint"


def zero(t: ColumnType) -> str | None:
    return {"text": "''", "bigint": "0", "int": "0", "boolean": "false", "double": "0",
            "numeric": "0"}.get(t.kind)


def value(col: Column, expr: str, precision: int) -> str:
    """What a push read selects for the column: the value the sink stores (times truncated to its
    precision, a non-nullable NULL as the type's zero)."""
    t = col.type
    if t.kind == "timestamptz":
        out = f"date_trunc('{'milliseconds' if precision == 3 else 'second'}', {expr})"
    elif t.kind == "uuid":
        out = f"({expr})::text"
    elif t.kind == "numeric":
        out = f"({expr})::numeric({t.precision},{t.scale})"
    elif t.kind == "double":
        out = f"({expr})::float8"
    elif t.kind == "text":
        out = f"({expr})::text"
    else:
        out = f"({expr})"
    if not col.nullable and zero(t) is not None:
        out = f"coalesce({out}, {zero(t)})"
    if t.kind == "numeric":
        out = f"({out})::text"   # the driver hands numeric over as text; read as a Decimal (arrow_types)
    return out


def canonical(col: Column, v: str) -> str:
    """The canonical text of a scalar column's value expression `v` (from `value`)."""
    kind = col.type.kind
    if kind in ("uuid", "text"):
        return v
    if kind in ("bigint", "int", "date"):
        return f"({v})::text"
    if kind == "boolean":
        return f"({v})::int::text"
    if kind == "double":
        return f"encode(float8send({v}), 'hex')"
    if kind == "numeric":  # trailing zeros of the scale do not count (ClickHouse prints without them)
        return (f"(CASE WHEN strpos({v}, '.') > 0 THEN regexp_replace({v}, '\\.?0+$', '') ELSE {v} END)"
                if col.type.scale else v)
    if kind == "timestamptz":  # `v` is already truncated to the sink's precision
        return f"(date_part('epoch', {v}) * 1000)::bigint::text"   # a double: cheaper than numeric
    raise ValueError(kind)


def scalar_part(col: Column, v: str) -> str:
    text = field(col.type, canonical(col, v))
    return f"coalesce({text}, '{'N;' if col.type.terminated else 'N'}')" if col.nullable else text


def element_hash(key_field: str, name: str, element: str) -> str:
    """`key_field`: the key's text as `field` gives it."""
    return md5_bits(f"{key_field} || {enc(repr_literal(name))} || {enc(element)}", 44)


def repr_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def arrow_types(table: pa.Table, columns: list[Column]) -> pa.Table:
    """The driver's Arrow as the sink columns' types (numeric arrives as text)."""
    for col in columns:
        if col.type.kind == "numeric" and col.name in table.column_names:
            i = table.column_names.index(col.name)
            typ = pa.decimal128(col.type.precision, col.type.scale)
            table = table.set_column(i, col.name, pc.cast(table.column(i), typ))
    return table
