"""`chsync spec new`: the catalogs of Postgres (and of the sink table an old job made) read into a draft
spec (spec/draft.py renders it)."""

from __future__ import annotations

import contextlib
import re
from types import ModuleType
from typing import TYPE_CHECKING

from ..errors import BadInput
from ..spec import load_specs
from ..spec.draft import Child, DraftColumn, pick, render, spec_type
from ..spec.types import DAY_KINDS, KEY_KINDS, VERSION_KINDS, parse_type
from .context import Context

if TYPE_CHECKING:
    from ..sink.introspect import ChTable
    from ..source.postgres import PostgresSource

_CHILD = re.compile(r"^(\w+)=([\w.]+)\.(\w+)$")


def write_spec(ctx: Context, source_table: str, day: str | None, version: str | None, sink_table: str | None,
               children: tuple[str, ...]) -> tuple[str, list[str]]:
    """(the spec's text, the columns left commented out)."""
    from ..source import introspect as pg_catalog
    from ..source import open_source
    placeholder = load_specs(None)[0]   # catalog queries need a connection, not a spec
    with contextlib.closing(open_source(ctx.source_dsn, placeholder)) as source:
        table = pg_catalog.describe(source, source_table)
        kids = [_child(source, pg_catalog, text, source_table) for text in children]
    columns = []
    for c in table.columns:
        declared, why = spec_type(c.type, c.is_enum, c.dimensions)
        columns.append(DraftColumn(c.name, declared, c.not_null, why))
    if len(table.primary_key) != 1:
        raise BadInput(f"{source_table} has " + ("no primary key" if not table.primary_key else
                       f"a primary key of {len(table.primary_key)} columns ({', '.join(table.primary_key)})")
                       + ": chsync needs a single-column key (uuid, bigint, int or text) that names each row")
    key = table.primary_key[0]
    key_col = next(c for c in columns if c.name == key)
    if key_col.spec_type is None or parse_type(key_col.spec_type, key).kind not in KEY_KINDS:
        raise BadInput(f"{source_table}'s primary key {key} is {key_col.spec_type or key_col.why}: chsync needs a "
                       f"key of type {' or '.join(KEY_KINDS)}")
    sink: dict = {"database": "default", "table": source_table.rpartition(".")[2]}
    zone = None
    if sink_table:
        from ..sink import introspect as ch_catalog
        from ..sink import open_sink
        with open_sink(ctx.sink_url, placeholder) as opened:
            ch = ch_catalog.describe(opened, sink_table)
        columns = _adopt(columns, ch)
        grain_column = ch.partition()
        if day is None and grain_column and any(c.name == grain_column[1] for c in columns):
            day = grain_column[1]
        sink = {"database": ch.database, "table": ch.table, "distributed_table": ch.distributed,
                "sharding_key": ch.sharding_key, "partition": grain_column[0] if grain_column else None}
        names = {c.name for c in columns if c.spec_type}
        if ch.order_by and set(ch.order_by) <= names:
            sink["order_by"] = list(ch.order_by)
    day = pick("day", day, columns, DAY_KINDS)
    version = pick("version", version, columns, VERSION_KINDS, preferred=("updated_at",))
    if sink_table:
        day_type = next(c.spec_type for c in columns if c.name == day)
        from ..sink.base import same_zone
        zone = ch.zone_of(day) if day_type == "timestamptz" else None
        zone = None if same_zone(zone, "UTC") else zone   # Etc/UTC is UTC: no day_timezone to write
    text = render(source_table=source_table, columns=columns, key=key, day=day, version=version, children=kids,
                  sink=sink, day_timezone=zone)
    return text, [c.name for c in columns if c.spec_type is None]


def _child(source: PostgresSource, pg_catalog: ModuleType, text: str, parent: str) -> Child:
    m = _CHILD.match(text)
    if not m:
        raise BadInput(f"--child {text!r}: write it as NAME=TABLE.COLUMN, e.g. labels=public.order_labels.label")
    name, table, value = m.groups()
    pg_catalog.column_type(source, table, value)
    return Child(name, table, pg_catalog.child_key(source, table, parent), value)


def _adopt(columns: list[DraftColumn], ch: ChTable) -> list[DraftColumn]:
    """The Postgres columns the sink table has (by name); the others, and the sink's own columns Postgres
    lacks, commented out."""
    in_sink = dict(ch.columns)
    out = [c if c.name in in_sink or c.spec_type is None else
           DraftColumn(c.name, None, c.not_null, f"not in the sink table {ch.database}.{ch.table}: add it there "
                                                 "(then chsync migrate) or leave it out")
           for c in columns]
    names = {c.name for c in columns}
    out += [DraftColumn(name, None, False, f"in the sink table ({typ}) but Postgres has no column of that name: "
                                           "declare it with sql = \"t.<expression>\" and its type")
            for name, typ in ch.columns if name not in names]
    return out
