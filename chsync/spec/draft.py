"""A starting spec written from the catalogs (`chsync spec new`): each Postgres column's declared type,
the key from the primary key, the day and version columns, and, when the ClickHouse table an old job made
is given, its names, ORDER BY, partitioning, Distributed table and day zone. A column chsync cannot map
is written commented out with the reason, so the file still loads and says what to decide.

Pure: the catalogs are read by source/introspect.py and sink/introspect.py."""

from __future__ import annotations

import dataclasses
import json
import re

from ..errors import BadInput
from .types import parse_type

ALIAS = "t"
_ARRAY_OF_TEXT = re.compile(r"^(text|character varying(\(\d+\))?|character(\(\d+\))?)\[\]$")


@dataclasses.dataclass(frozen=True)
class Child:
    name: str          # the spec column
    table: str
    key: str           # the child's column referencing the base table
    value: str


@dataclasses.dataclass(frozen=True)
class DraftColumn:
    name: str
    spec_type: str | None      # None: not mapped (see why)
    not_null: bool
    why: str = ""


def spec_type(pg_type: str, is_enum: bool, dimensions: int = 0) -> tuple[str | None, str]:
    """(the spec type of a column Postgres prints as `pg_type`, or None and why not)."""
    t = pg_type.strip().lower()
    if dimensions > 1:
        t += "[]" * (dimensions - 1)
    if is_enum:
        return "enum", ""
    if _ARRAY_OF_TEXT.match(t):
        return "text[]", ""
    if t.endswith("[][]"):
        return None, f"{pg_type}: a multidimensional array is not compared (cast it to text[] in sql)"
    if t in ("numeric", "numeric[]"):
        return None, ("numeric without precision: declare numeric(p,s) wide enough for its values; a value that "
                      "does not fit then fails its day, naming it")
    t = re.sub(r"^(timestamp|time)\(\d\)", r"\1", t)   # the sink table's precision sets the digits compared
    t = {"character varying": "text", "character": "text"}.get(t, t)
    t = re.sub(r"^character varying\((\d+)\)$", r"varchar(\1)", t)
    t = re.sub(r"^character\((\d+)\)$", r"char(\1)", t)
    try:
        kind = parse_type(t, "column")
    except BadInput as e:
        return None, f"{pg_type}: not compared yet ({str(e).partition(': ')[2] or e})"
    return (t if kind.kind == "text" else str(kind)), ""   # varchar(n) as written; else the short name


def pick(role: str, given: str | None, columns: list[DraftColumn], kinds: tuple[str, ...],
         preferred: tuple[str, ...] = ()) -> str:
    """The column for a role: the one given, else a preferred name, else the only candidate."""
    candidates = [c.name for c in columns if c.spec_type and c.not_null and parse_type(c.spec_type, c.name).kind
                  in kinds]
    if given:
        if given not in candidates:
            raise BadInput(f"--{role} {given!r} must be a NOT NULL column of type {' or '.join(kinds)} of the table "
                           f"(candidates: {', '.join(candidates) or 'none'})")
        return given
    for name in preferred:
        if name in candidates:
            return name
    if len(candidates) == 1:
        return candidates[0]
    raise BadInput(f"name the {role} column with --{role} (NOT NULL columns of type {' or '.join(kinds)}: "
                   f"{', '.join(candidates) or 'none'})")


def render(*, source_table: str, columns: list[DraftColumn], key: str, day: str, version: str,
           children: list[Child], sink: dict, day_timezone: str | None) -> str:
    """The spec file's text. `sink`: its [sink] keys (database, table, ...)."""
    q = json.dumps
    lines = [f"# Written by `chsync spec new` from {source_table}. Review it, then: chsync --config THIS spec check"]
    lines += ["", "[table]", f"key = {q(key)}", f"day = {q(day)}", f"version = {q(version)}"]
    if day_timezone and day_timezone != "UTC":
        lines.append(f"day_timezone = {q(day_timezone)}")
    lines += ["", "[source]", f"from = {q(f'{source_table} {ALIAS}')}", "", "[columns]"]
    for c in columns:
        if c.spec_type is None:
            lines.append(f"# {c.name}: {c.why}")
            continue
        parts = [f"sql = {q(f'{ALIAS}.{c.name}')}", f"type = {q(c.spec_type)}"]
        if not c.not_null and c.name not in (key, day, version) and not c.spec_type.endswith("[]"):
            parts.append("nullable = true")
        lines.append(f"{c.name} = {{ {', '.join(parts)} }}")
    for ch in children:
        lines.append(f"{ch.name} = {{ type = \"text[]\", child = {{ table = {q(ch.table)}, key = {q(ch.key)}, "
                     f"value = {q(ch.value)} }} }}")
    lines += ["", "[sink]", *(f"{k} = {q(v)}" for k, v in sink.items() if v is not None)]
    return "\n".join(lines) + "\n"
