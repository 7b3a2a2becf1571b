"""How ClickHouse stores and fingerprints each declared type: the column types of the sink table, and the
row hash, which must equal Postgres's for the same row (source/canonical.py states the rules; the
property test in tests/test_fingerprint.py holds both to them). Works from ClickHouse 18.16 on."""

from __future__ import annotations

import re

from ..spec.model import Column, TableSpec
from ..spec.types import ColumnType


def ch_type(col: Column, precision: int, low_cardinality: bool) -> str:
    t = col.type
    base = _base_type(t, precision)
    if col.nullable:
        base = f"Nullable({base})"
    if col.low_cardinality and low_cardinality and t.is_textual:
        base = f"LowCardinality({base})"
    return base


def _base_type(t: ColumnType, precision: int) -> str:
    if t.element is not None:
        return f"Array(Nullable({_base_type(t.element, precision)}))"
    if t.is_textual:
        return "String"
    if t.is_time:
        return "DateTime64(3, 'UTC')" if precision == 3 else "DateTime('UTC')"
    return {
        "uuid": "UUID", "bigint": "Int64", "int": "Int32", "smallint": "Int16", "boolean": "UInt8", "date": "Date",
        "numeric": f"Decimal({t.precision}, {t.scale})", "double": "Float64", "real": "Float32", "bytea": "String",
        "text[]": "Array(String)",
    }[t.kind]


# Existing sink column types that hold every value of a declared type exactly (besides chsync's own).
WIDER = {"smallint": ("Int16", "Int32", "Int64"), "int": ("Int32", "Int64"), "real": ("Float32", "Float64"),
         "boolean": ("UInt8", "Bool")}


TIME_PRECISIONS = (0, 3, 6)   # the digits of a second chsync compares times at (Postgres can truncate to these)


def time_type(found: str) -> tuple[int, str | None] | None:
    """(digits of a second, zone or None for the server's) of a DateTime or DateTime64 type, else None."""
    m = re.fullmatch(r"(?:Nullable\()?DateTime(?:64\((\d+)(?:,'([^']*)')?\)|\('([^']*)'\))?\)?", found.replace(" ", ""))
    if not m:
        return None
    return int(m.group(1) or 0), (m.group(2) or m.group(3) or None)


def accepts(col: Column, found: str) -> bool:
    """Whether an existing sink column of type `found` can hold the declared column (a time column's zone
    is checked apart: base.require_table)."""
    found = found.replace(" ", "")
    m = re.fullmatch(r"LowCardinality\((.*)\)", found)
    if m and col.type.is_textual:
        found = m.group(1)
    m = re.fullmatch(r"Nullable\((.*)\)", found)
    if col.nullable and not m:
        return False   # a non-nullable column may be Nullable: a NULL there hashes as NULL, so it is drift
    inner = m.group(1) if m else found
    if col.type.element is not None:   # Array(Nullable(T)): T holds the element as a column would
        m = re.fullmatch(r"Array\(Nullable\((.*)\)\)", inner)
        return m is not None and accepts(Column(col.name, col.type.element), m.group(1))
    if col.type.is_time:
        kind = time_type(inner)
        return kind is not None and kind[0] in TIME_PRECISIONS
    if col.type.kind == "numeric":
        return _decimal_holds(inner, col.type.precision, col.type.scale)
    if col.type.kind in WIDER:
        return inner in WIDER[col.type.kind]
    if col.type.kind == "enum" and re.fullmatch(r"Enum(8|16)\(.*\)", inner):
        return True   # its labels are checked against the values found, not here
    return inner == _base_type(col.type, 3).replace(" ", "")


def _decimal_holds(found: str, precision: int, scale: int) -> bool:
    """Decimal(P, S) or DecimalN(S) with P >= precision and S = scale."""
    m = re.fullmatch(r"Decimal\((\d+),(\d+)\)", found)
    if m:
        p, s = int(m.group(1)), int(m.group(2))
    else:
        m = re.fullmatch(r"Decimal(32|64|128)\((\d+)\)", found)
        if not m:
            return False
        p, s = {"32": 9, "64": 18, "128": 38}[m.group(1)], int(m.group(2))
    return p >= precision and s == scale


def expected(col: Column) -> str:
    if col.type.is_time:
        return "DateTime64(p[, 'zone']) with p = 0, 3 or 6, or DateTime[('zone')]"
    kind = ch_type(col, 3, False)
    if col.type.kind in WIDER:
        return " or ".join(WIDER[col.type.kind])
    if col.type.kind == "numeric":
        return f"Decimal(P, {col.type.scale}) with P >= {col.type.precision}"
    return f"{kind} (or LowCardinality)" if col.type.is_textual else kind


END_OF_TEXT = "'\\x00\\x00'"
EPOCH_2000_US = 946_684_800_000_000    # Postgres sends times as microseconds since 2000-01-01 UTC


def big_endian(x: str, size: int) -> str:
    """A number's `size` bytes, most significant first, as Postgres's binary send format has them.
    reinterpretAsString drops the zero bytes at the end (the high bytes): toFixedString puts them back."""
    return f"reverse(toFixedString(reinterpretAsString({x}), {size}))"


def text_bytes(text: str) -> str:
    """source/canonical.py `text_bytes`: a stored NUL (Postgres never sends one) is escaped as NUL 0x01,
    so that no stored text can end early and make two rows' bytes the same."""
    return f"concat(replaceAll({text}, '\\x00', '\\x00\\x01'), {END_OF_TEXT})"


def md5_bits(data: str, bits: int) -> str:
    digits = bits // 4
    return (f"reinterpretAsUInt64(reverse(unhex(concat('{'0' * (16 - digits)}', "
            f"substring(hex(MD5({data})), 1, {digits})))))")


def hashed(col: Column, x: str) -> str:
    """The bytes a row hash covers for a stored value `x` (source/canonical.py `hashed`)."""
    kind = col.type.kind
    if kind == "uuid":
        data = f"UUIDStringToNum(toString({x}))"
    elif kind == "bigint":
        data = big_endian(f"toInt64({x})", 8)
    elif kind == "int":
        data = big_endian(f"toInt32({x})", 4)
    elif kind == "smallint":
        data = big_endian(f"toInt16({x})", 2)
    elif kind == "double":
        data = big_endian(f"toFloat64({x})", 8)
    elif kind == "real":
        data = big_endian(f"toFloat32({x})", 4)
    elif kind == "bytea":
        data = f"concat({big_endian(f'toInt32(length({x}))', 4)}, {x})"
    elif kind == "boolean":
        data = f"toFixedString(reinterpretAsString(toUInt8({x})), 1)"
    elif kind == "date":   # days since 2000-01-01 (10,957 days after 1970-01-01)
        data = big_endian(f"toInt32(toInt32(toUInt16({x})) - 10957)", 4)
    elif col.type.is_time:  # a double holds a DateTime64(6) of our era to well under a µs: rounding is exact
        data = big_endian(f"toInt64(round(toFloat64({x}) * 1000000)) - {EPOCH_2000_US}", 8)
    elif kind == "numeric":
        data = f"concat({numeric_text(col, x)}, ';')"
    else:   # a text, or the text of a json, inet, ... (an Enum's label, whatever column holds it)
        data = text_bytes(f"toString({x})" if kind != "text" else x)
    return f"ifNull(concat('\\x01', {data}), '\\x00')" if col.nullable else data


def numeric_text(col: Column, x: str) -> str:
    """Postgres's canonical text of a numeric: without the trailing zeros of the scale."""
    s = _decimal128_text(col, x) if col.type.precision - col.type.scale >= 20 else f"toString({x})"
    if not col.type.scale:
        return s
    return f"if(position({s}, '.') > 0, replaceRegexpOne({s}, '\\\\.?0+$', ''), {s})"


def _decimal128_text(col: Column, x: str) -> str:
    """toString of a Decimal128, with its whole part written from two UInt64 halves: ClickHouse 18.16
    prints a whole part of 2^64 or more wrongly (NUL bytes in place of its high digits). The fraction is
    printed as it is, from a value below 1."""
    a = f"abs(assumeNotNull({x}))" if col.nullable else f"abs({x})"
    e19 = "toDecimal128('10000000000000000000', 0)"
    whole = f"CAST({a} AS Decimal(38, 0))"
    high = f"toUInt64({whole} / {e19})"
    low = f"toString(toUInt64({whole} - toDecimal128({high}, 0) * {e19}))"
    padded = f"substring(concat('{'0' * 19}', {low}), length({low}) + 1)"
    digits = f"if({high} > 0, concat(toString({high}), {padded}), {low})"
    fraction = f"substring(toString({a} - CAST({whole} AS Decimal(38, {col.type.scale}))), 2)" if col.type.scale \
        else "''"
    text = f"concat(if({x} < 0, '-', ''), {digits}, {fraction})"
    return f"if(isNull({x}), NULL, {text})" if col.nullable else text


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class RowHash:
    """The fingerprint of one stored row, as ClickHouse SQL over the sink columns (optionally of a table
    alias `prefix.`)."""

    def __init__(self, spec: TableSpec, prefix: str = ""):
        self.spec, self.p = spec, prefix

    def key_bytes(self) -> str:
        return hashed(self.spec.key_column, f"{self.p}{self.spec.key}")

    def scalar(self) -> str:
        parts = [self.key_bytes()]
        parts += [hashed(col, f"{self.p}{col.name}") for col in self.spec.compared if not col.type.is_array]
        return md5_bits(f"concat({', '.join(parts)})" if len(parts) > 1 else parts[0], 60)

    def elements(self, col: Column) -> str:
        if col.type.element is not None:   # ordered, NULL elements kept (source/canonical.py ordered_element_hash)
            item = Column(col.name, col.type.element, nullable=True)
            element = md5_bits(f"concat({self.key_bytes()}, {text_bytes(_literal(col.name))}, "
                               f"{big_endian('toInt32(chsync_i)', 4)}, {hashed(item, 'chsync_e')})", 44)
            return (f"arraySum(arrayMap((chsync_e, chsync_i) -> {element}, {self.p}{col.name}, "
                    f"arrayEnumerate({self.p}{col.name})))")
        element = md5_bits(f"concat({self.key_bytes()}, {text_bytes(_literal(col.name))}, "
                           f"{text_bytes('chsync_e')})", 44)
        return f"arraySum(arrayMap(chsync_e -> {element}, {self.p}{col.name}))"

    def sql(self) -> str:
        """UInt64: the scalar hash plus every array's element hashes (no wrap below 2^18 elements)."""
        return " + ".join([self.scalar(), *(self.elements(c) for c in self.spec.compared if c.type.is_array)])
