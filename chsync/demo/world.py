"""A generated world for any simple table spec: the plan's segments (drift.py) made into rows (rows.py):
what Postgres holds now, what the old job left in the sink, and what each row was meant to be (the
intents, which the ground truth checks)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..errors import BadInput, RuntimeFailure
from . import drift
from .rows import Rows, Version
from .source_model import SourceModel
from .values import NoValue


@dataclasses.dataclass
class SinkRow:
    day: dt.date
    batch: int                       # 0: a duplicate's older row (inserted first, on its own), 1: the rest
    key: object
    values: dict[str, object]        # the spec's columns, unconverted


@dataclasses.dataclass(frozen=True)
class Intent:
    key: object
    day: dt.date                     # the row's day in the sink (in Postgres for missing rows)
    kind: str
    detail: str = ""
    moved_to: dt.date | None = None


@dataclasses.dataclass
class World:
    rows: Rows
    postgres: dict[str, list[dict]]                  # table name -> rows (column -> value)
    current: dict[object, tuple[dict, dict]]         # key -> (view, spec columns) of every base row now
    sink: list[SinkRow] = dataclasses.field(default_factory=list)
    intents: list[Intent] = dataclasses.field(default_factory=list)
    reasons: list[str] = dataclasses.field(default_factory=list)   # the predicates rows are stale by
    changed: list[str] = dataclasses.field(default_factory=list)   # the columns rows changed in


def make(model: SourceModel, seed: int, scale: float) -> World:
    rows = Rows(model, seed)
    try:
        stale_atoms = rows.stale_atoms()
    except NoValue:
        raise BadInput(f"{model.spec.origin}: no generated row can pass the filter (its predicates contradict "
                       "each other): generate needs a filter some rows pass") from None
    reasons = [r for r, atoms in stale_atoms.items() if atoms]
    changed = rows.changeable()
    world = World(rows, {t.name: [] for t in model.all_tables()}, {}, reasons=reasons, changed=changed)
    for alias, pool in rows.pools.items():
        world.postgres[model.tables[alias].name] = pool.now
    segments = drift.plan(scale, changed, reasons)
    n = 0
    for seg in segments:
        for _ in range(seg.count):
            _make_one(world, seg, n, stale_atoms)
            n += 1
    return world


def _make_one(world: World, seg: drift.Segment, n: int, stale_atoms: dict) -> None:
    rows, kind, day = world.rows, seg.kind, seg.day
    m = rows.m
    atoms = m.atoms
    if kind in ("ok", "duplicate", "missing", "changed", "deleted"):
        now = before = rows.base(n, day)
    elif kind == "stale":
        usable = stale_atoms[seg.detail]
        atom = usable[n % len(usable)]
        now, before = rows.base(n, day, atom), rows.base(n, day, atom, now=False)
        if atom.ref.alias == m.base:
            rows.newer(now)
    elif kind == "day_moved":
        assert seg.moved_to is not None, "a day_moved segment names the day its rows moved to"
        now, before = rows.base(n, seg.moved_to), rows.base(n, day)
        rows.newer(now)
    elif kind == "noise" and atoms:
        now = before = rows.base(n, day, atoms[n % len(atoms)])
    else:   # outside the range (or noise of a spec without predicates): a few days before or after
        offset = dt.timedelta(days=1 + n % 3)
        now = before = rows.base(n, drift.FIRST - offset if n % 2 else drift.LAST + offset)
    key = now.row[m.key.column]
    if kind != "deleted":
        _to_postgres(world, now, n, key)
    if kind not in ("missing", "noise", "outside"):
        values = rows.declared(before, n)
        if kind == "duplicate":
            world.sink.append(SinkRow(day, 0, key, rows.older(values)))
        if kind == "changed":
            col = m.spec.column(seg.detail)
            try:
                values = {**values, col.name: rows.other(col, values[col.name], n)}
            except NoValue:
                raise RuntimeFailure(f"generator bug: column {col.name} has no other value for row {n}") from None
        world.sink.append(SinkRow(day, 1, key, values))
    world.intents.append(Intent(key, day, kind, seg.detail, seg.moved_to))


def _to_postgres(world: World, version: Version, n: int, key: object) -> None:
    rows = world.rows
    m = rows.m
    world.postgres[m.tables[m.base].name].append(version.row)
    for column, table in m.children.items():
        child = m.spec.column(column).child
        assert child is not None, "the model's children are the columns gathered from a child table"
        world.postgres[table.name].extend({child.key: key, child.value: e} for e in rows.elements(n, column))
    world.current[key] = (version.view, rows.declared(version, n))
