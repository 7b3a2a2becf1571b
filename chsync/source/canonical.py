"""How Postgres reads and fingerprints each declared type. The fingerprint must equal the one ClickHouse
computes for the stored row (sink/canonical.py); tests/test_fingerprint.py checks both for random specs
and rows. The rules, shared by both sides (docs/ARCHITECTURE.md, "Fingerprints"):

- a row's hash is 60 bits of md5 over the bytes of the key and every scalar column, in declared order;
  each type's bytes are ones Postgres has without formatting text (its binary send format, big-endian):
  a uuid its 16 bytes, a bigint 8, an int 4, a smallint 2, a double its 8 IEEE bytes, a real its 4, a
  boolean 1, a date the 4 bytes of its days since 2000-01-01, a timestamptz the 8 bytes of its
  microseconds since 2000-01-01 UTC at the sink's precision (a timestamp without time zone: its
  wall-clock reading taken as UTC); a text is its UTF-8 bytes ended by two NUL bytes (Postgres text never
  holds a NUL; the sink escapes one as NUL 0x01, so no two rows share their bytes), and so is the
  `::text` of a json, jsonb, inet, time, interval or enum; a bytea its length (4 bytes) and its raw bytes;
  a numeric its canonical text ended by `;`. A nullable column's value is preceded by 0x01, and its NULL
  is the one byte 0x00;
- each element of a text[] column adds 44 bits of md5 over (key, column name, element), name and element
  as texts: text[] is a multiset, so order never matters and no collation is involved; an element of any
  other array adds 44 bits over (key, column name, its position, its bytes as its type's above, NULL
  kept), so order counts; up to 2^18 elements per row keep the sum inside a bigint;
- a day's fingerprint is (rows, sum of row hashes mod 2^64).

Formatting was what a row hash cost Postgres most: beyond the scan, bytes cost a quarter less than the
texts they replaced (bench/profile_row_hash.py).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..spec.model import Column
from ..spec.types import ColumnType

MOD64 = 1 << 64


END_OF_TEXT = "'\\x0000'::bytea"
PRESENT, NULL = "'\\x01'::bytea", "'\\x00'::bytea"
SEND = {"uuid": "uuid_send(({v})::uuid)", "bigint": "int8send(({v})::int8)", "int": "int4send(({v})::int4)",
        "smallint": "int2send(({v})::int2)", "double": "float8send(({v})::float8)",
        "real": "float4send(({v})::float4)", "boolean": "boolsend(({v})::bool)", "date": "date_send(({v})::date)",
        "timestamptz": "timestamptz_send({v})", "timestamp": "timestamptz_send({v})",
        "bytea": "(int4send(length({v})) || ({v}))"}


def text_bytes(text: str) -> str:
    """A text's bytes, ended unambiguously: a concatenation of them can be split back into the texts."""
    return f"(textsend({text}) || {END_OF_TEXT})"


def md5_bits(data: str, bits: int) -> str:
    return f"('x' || left(md5({data}), {bits // 4}))::bit({bits})::bigint"


def zero(t: ColumnType) -> str | None:
    return {"text": "''", "bigint": "0", "int": "0", "smallint": "0", "boolean": "false", "double": "0",
            "real": "0", "numeric": "0"}.get(t.kind)


def value(col: Column, expr: str, precision: int) -> str:
    """What a push read selects for the column: the value the sink stores (times truncated to its
    precision, a non-nullable NULL as the type's zero)."""
    t = col.type
    if t.is_time:   # Postgres keeps microseconds: precision 6 is the value itself (SourceSQL.expr: a timestamp
        # arrives as a timestamptz)
        unit = {0: "second", 3: "milliseconds"}.get(precision)
        out = f"date_trunc('{unit}', {expr})" if unit else f"({expr})"
    elif t.kind == "uuid":
        out = f"({expr})::text"
    elif t.kind == "numeric":   # a value too wide for (p,s) reads as NULL, not as Postgres's error without a key:
        # its raw hash (`hashed`) then differs from the staged one, and the day is refused naming the row
        raw = f"({expr})::numeric"
        out = f"(CASE WHEN abs({raw}) < 1e{t.precision - t.scale} THEN {raw}::numeric({t.precision},{t.scale}) END)"
    elif t.kind == "double":
        out = f"({expr})::float8"
    elif t.kind == "real":
        out = f"({expr})::float4"
    elif t.kind == "inet":   # its output text, as postgresql() reads it (::text would add a /32 to a host)
        out = f"textin(inet_out(({expr})::inet))"
    elif t.is_textual:
        out = f"({expr})::text"
    else:
        out = f"({expr})"
    if not col.nullable and zero(t) is not None:
        out = f"coalesce({out}, {zero(t)})"
    if t.kind == "numeric":
        out = f"({out})::text"   # the driver hands numeric over as text; read as a Decimal (arrow_types)
    return out


def numeric_text(col: Column, expr: str) -> str:
    """The canonical text of a numeric as Postgres holds it (not as cast to the declared (p,s), so that a
    digit the cast would round away changes the hash instead of vanishing): trailing zeros after the point
    do not count (ClickHouse prints without them)."""
    raw = f"({expr})::numeric" if col.nullable else f"coalesce(({expr})::numeric, 0)"
    v = f"({raw})::text"
    return f"(CASE WHEN strpos({v}, '.') > 0 THEN regexp_replace({v}, '\\.?0+$', '') ELSE {v} END)"


def hashed(col: Column, expr: str, precision: int) -> str:
    """The bytes a row hash covers for a scalar column's expression (its stored value, as `value` gives it;
    a uuid straight from its expression, not through its text)."""
    kind = col.type.kind
    v = expr if kind == "uuid" else value(col, expr, precision)
    if col.type.is_textual:
        data = text_bytes(v)
    elif kind == "numeric":
        data = f"textsend({numeric_text(col, expr)} || ';')"
    else:
        data = SEND[kind].format(v=v)
    return f"coalesce({PRESENT} || {data}, {NULL})" if col.nullable else data


def element_hash(key: str, name: str, element: str) -> str:
    """`key`: the key's bytes as `hashed` gives them."""
    return md5_bits(f"{key} || {text_bytes(repr_literal(name))} || {text_bytes(element)}", 44)


def element_column(col: Column) -> Column:
    """An ordered array's element as a nullable column of the element type (a NULL element is kept)."""
    assert col.type.element is not None, col.name
    return Column(col.name, col.type.element, nullable=True)


def ordered_element_hash(key: str, col: Column, element: str, position: str, precision: int) -> str:
    """An ordered array's element: 44 bits of md5 over (key, column name, position, the element's bytes as
    its type's `hashed`), so that a reordered array differs."""
    data = hashed(element_column(col), element, precision)
    name = text_bytes(repr_literal(col.name))
    return md5_bits(f"{key} || {name} || int4send(({position})::int4) || {data}", 44)


def repr_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def arrow_types(table: pa.Table, columns: list[Column]) -> pa.Table:
    """The driver's Arrow as the sink columns' types (numeric arrives as text)."""
    for col in columns:
        if col.type.kind in ("numeric", "numeric[]") and col.name in table.column_names:
            i = table.column_names.index(col.name)
            typ = pa.decimal128(col.type.precision, col.type.scale)
            table = table.set_column(i, col.name, pc.cast(table.column(i), typ if col.type.kind == "numeric"
                                                          else pa.list_(typ)))
    return table
