"""The column types a spec may declare. Only the model lives here: how each type is read, written and
fingerprinted is the business of source/canonical.py (Postgres) and sink/canonical.py (ClickHouse), which
must agree on it (tests/test_fingerprint.py checks them against each other for random rows)."""

from __future__ import annotations

import dataclasses
import re

from ..errors import BadInput

KINDS = ("uuid", "bigint", "int", "text", "boolean", "date", "timestamptz", "numeric", "double", "text[]")
ALIASES = {
    "integer": "int", "int4": "int", "int8": "bigint", "bool": "boolean", "varchar": "text", "string": "text",
    "timestamp with time zone": "timestamptz", "double precision": "double", "float8": "double",
    "decimal": "numeric", "_text": "text[]", "varchar[]": "text[]",
}
_NUMERIC = re.compile(r"^(?:numeric|decimal)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
MAX_PRECISION = 38           # Decimal128 (ClickHouse 18.16 has nothing wider)

KEY_KINDS = ("uuid", "bigint", "int", "text")
DAY_KINDS = ("timestamptz", "date")
VERSION_KINDS = ("timestamptz", "date", "bigint", "int")


@dataclasses.dataclass(frozen=True)
class ColumnType:
    kind: str
    precision: int = 0    # numeric only
    scale: int = 0

    def __str__(self) -> str:
        return f"numeric({self.precision},{self.scale})" if self.kind == "numeric" else self.kind

    @property
    def is_array(self) -> bool:
        return self.kind == "text[]"

    @property
    def is_time(self) -> bool:
        return self.kind == "timestamptz"

    @property
    def has_zero(self) -> bool:
        """A NULL in a non-nullable column of this type becomes its zero ('' / 0 / false / []); other types
        have no honest zero, and a NULL there is an error naming the key."""
        return self.kind in ("text", "bigint", "int", "boolean", "numeric", "double", "text[]")


def parse_type(text: object, where: str) -> ColumnType:
    if not isinstance(text, str):
        raise BadInput(f"{where}: type must be a string like \"text\" or \"numeric(12,2)\"")
    name = " ".join(text.strip().lower().split())
    m = _NUMERIC.match(name)
    if m:
        precision, scale = int(m[1]), int(m[2])
        if not 0 < precision <= MAX_PRECISION or scale > precision:
            raise BadInput(f"{where}: {text!r} needs 1 <= precision <= {MAX_PRECISION} and scale <= precision")
        return ColumnType("numeric", precision, scale)
    name = ALIASES.get(name, name)
    if name == "numeric":
        raise BadInput(f"{where}: numeric needs a precision and scale, e.g. \"numeric(12,2)\"")
    if name not in KINDS:
        raise BadInput(f"{where}: unknown type {text!r}: use one of {', '.join(KINDS)} (numeric as numeric(p,s))")
    return ColumnType(name)
