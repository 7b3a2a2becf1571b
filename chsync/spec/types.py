"""The column types a spec may declare. Only the model lives here: how each type is read, written and
fingerprinted is the business of source/canonical.py (Postgres) and sink/canonical.py (ClickHouse), which
must agree on it (tests/test_fingerprint.py checks them against each other for random rows)."""

from __future__ import annotations

import dataclasses
import re

from ..errors import BadInput

KINDS = ("uuid", "bigint", "int", "smallint", "text", "boolean", "date", "timestamptz", "timestamp", "numeric",
         "double", "real", "bytea", "json", "jsonb", "inet", "time", "interval", "enum", "text[]")
# Arrays of these keep their order and their NULL elements (text[] is a multiset of texts, NULLs as '').
ARRAY_ELEMENTS = ("smallint", "int", "bigint", "uuid", "boolean", "date", "timestamptz", "numeric", "double")
# Types whose value is compared as Postgres's text of it (`::text`): the sink stores that text as a String.
TEXTUAL = ("text", "json", "jsonb", "inet", "time", "interval", "enum")
ALIASES = {
    "integer": "int", "int4": "int", "int8": "bigint", "int2": "smallint", "bool": "boolean", "varchar": "text",
    "string": "text", "character varying": "text", "char": "text", "character": "text", "bpchar": "text",
    "timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
    "double precision": "double", "float8": "double", "float4": "real", "decimal": "numeric",
    "time without time zone": "time", "_text": "text[]", "varchar[]": "text[]",
}
_NUMERIC = re.compile(r"^(?:numeric|decimal)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
# varchar(n) and char(n) compare as Postgres's ::text of them (char(n) without its padding): the length is
# Postgres's business.
_SIZED_TEXT = re.compile(r"^(?:varchar|character varying|char|character|bpchar)\s*\(\s*\d+\s*\)$")
MAX_PRECISION = 38           # Decimal128 (ClickHouse 18.16 has nothing wider)

KEY_KINDS = ("uuid", "bigint", "int", "text")
DAY_KINDS = ("timestamptz", "timestamp", "date")
VERSION_KINDS = ("timestamptz", "timestamp", "date", "bigint", "int")


@dataclasses.dataclass(frozen=True)
class ColumnType:
    kind: str
    precision: int = 0    # numeric only
    scale: int = 0

    def __str__(self) -> str:
        if self.kind in ("numeric", "numeric[]"):
            return f"numeric({self.precision},{self.scale})" + self.kind[len("numeric"):]
        return self.kind

    @property
    def is_array(self) -> bool:
        return self.kind.endswith("[]")

    @property
    def element(self) -> ColumnType | None:
        """The element type of an ordered array (every array but text[], which is a multiset of texts)."""
        return ColumnType(self.kind[:-2], self.precision, self.scale) if self.is_array and self.kind != "text[]" \
            else None

    @property
    def is_time(self) -> bool:
        """Stored as a DateTime(64) in UTC: a timestamp (without time zone) as its wall-clock reading."""
        return self.kind in ("timestamptz", "timestamp")

    @property
    def is_textual(self) -> bool:
        return self.kind in TEXTUAL

    @property
    def has_zero(self) -> bool:
        """A NULL in a non-nullable column of this type becomes its zero ('' / 0 / false / []); other types
        have no honest zero, and a NULL there is an error naming the key."""
        return self.is_array or self.kind in ("text", "bigint", "int", "smallint", "boolean", "numeric", "double",
                                              "real")


def parse_type(text: object, where: str) -> ColumnType:
    if not isinstance(text, str):
        raise BadInput(f"{where}: type must be a string like \"text\" or \"numeric(12,2)\"")
    name = " ".join(text.strip().lower().split())
    if name.endswith("[]") and not name.endswith("[][]") and ALIASES.get(name) != "text[]":
        element = parse_type(name[:-2].strip(), where)
        if element.kind == "text":
            return ColumnType("text[]")
        if element.kind not in ARRAY_ELEMENTS:
            raise BadInput(f"{where}: {text!r}: arrays of {element} are not compared yet; arrays of "
                           f"{', '.join(ARRAY_ELEMENTS)} and text are")
        return ColumnType(f"{element.kind}[]", element.precision, element.scale)
    m = _NUMERIC.match(name)
    if m:
        precision, scale = int(m[1]), int(m[2])
        if not 0 < precision <= MAX_PRECISION or scale > precision:
            raise BadInput(f"{where}: {text!r} needs 1 <= precision <= {MAX_PRECISION} and scale <= precision")
        return ColumnType("numeric", precision, scale)
    if _SIZED_TEXT.match(name):
        return ColumnType("text")
    if re.fullmatch(r"(?:timestamptz|timestamp|time)\s*\(\s*\d\s*\)(?: with(?:out)? time zone)?", name) \
            or re.fullmatch(r".*\[\s*\]\s*\[\s*\]", name):
        what = "a multidimensional array" if "[" in name else "a time with its own precision"
        raise BadInput(f"{where}: {text!r} is {what}, which chsync cannot compare exactly: "
                       + ("declare a one-dimensional array or leave the column out" if "[" in name else
                          "declare it without (p): the sink table's DateTime64(p) sets the digits compared"))
    name = ALIASES.get(name, name)
    if name == "numeric":
        raise BadInput(f"{where}: numeric needs a precision and scale, e.g. \"numeric(12,2)\"")
    if name not in KINDS:
        raise BadInput(f"{where}: unknown type {text!r}: use one of {', '.join(KINDS)} (numeric as numeric(p,s), "
                       f"varchar(n) as text)")
    return ColumnType(name)
