"""The ground truth of a generated world, counted from the generator's own rows (never with chsync's
queries): per day the source set, the sink's rows, distinct keys and duplicates, and the missing, stale
and changed keys; why each stale row is stale (deleted, else the first predicate it fails, else
day_moved); which column each changed row differs in. Then every row is checked against what it was
meant to be, so that a generator bug shows here and not as a disagreement with chsync."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from ..errors import RuntimeFailure
from . import drift
from .values import stored
from .world import World

if TYPE_CHECKING:
    from ..spec.model import TableSpec

DAY_FIELDS = ("source", "sink_rows", "sink_distinct", "duplicates", "missing", "stale", "changed")


def ground_truth(world: World, precision: int) -> dict:
    rows = world.rows
    spec = rows.spec

    def as_stored(values: dict) -> tuple:
        return tuple(stored(c, values[c.name], precision) for c in spec.columns)

    source: dict[dt.date, dict] = defaultdict(dict)
    for key, (view, values) in world.current.items():
        if rows.first_failing(view) is not None:
            continue
        day = rows.local_day(values[spec.day])
        assert day is not None, "a row that passes the filter has a day (the day column is not nullable)"
        if drift.FIRST <= day <= drift.LAST:
            source[day][key] = as_stored(values)
    sink: dict[dt.date, dict[object, list]] = defaultdict(lambda: defaultdict(list))
    for r in world.sink:
        sink[r.day][r.key].append(as_stored(r.values))

    days: dict[str, dict[str, int]] = {}
    reasons: Counter[str] = Counter()     # stale reason -> rows
    columns: Counter[str] = Counter()     # changed column -> rows
    found: dict[tuple[dt.date, object], list] = defaultdict(list)   # (day, key) -> what the diff must say
    for day in drift.DAYS:
        src, snk = source[day], sink[day]
        row = dict.fromkeys(DAY_FIELDS, 0)
        row.update(source=len(src), sink_rows=sum(len(v) for v in snk.values()), sink_distinct=len(snk))
        for key, copies in snk.items():
            if len(copies) > 1:
                row["duplicates"] += 1
                found[(day, key)].append(("duplicate",))
            if key not in src:
                row["stale"] += 1
                reason = _reason(world, key, day)
                reasons[reason] += 1
                found[(day, key)].append(("stale", reason))
            elif src[key] not in copies:
                row["changed"] += 1
                differ = _closest(src[key], copies, spec)
                columns.update(differ)
                found[(day, key)].append(("changed", *differ))
        for key in src:
            if key not in snk:
                row["missing"] += 1
                found[(day, key)].append(("missing",))
        days[day.isoformat()] = row
    _check(world, found)
    unknown = set(reasons) - set(spec.reasons)
    if unknown:
        raise RuntimeFailure(f"generator bug: stale rows without a reason of the spec ({', '.join(map(str, unknown))})")
    return {
        "table": spec.name, "from": drift.FIRST.isoformat(), "to": drift.LAST.isoformat(), "days": days,
        "stale_reasons": {r: reasons.get(r, 0) for r in spec.reasons},
        "changed_columns": {c.name: columns.get(c.name, 0) for c in spec.compared},
        "totals": {k: sum(d[k] for d in days.values()) for k in DAY_FIELDS},
        "postgres": {name: len(table) for name, table in world.postgres.items()},
    }


def _reason(world: World, key: object, day: dt.date) -> str:
    if key not in world.current:
        return "deleted"
    view, values = world.current[key]
    failed = world.rows.first_failing(view)
    if failed is not None:
        return failed
    return "day_moved" if world.rows.local_day(values[world.rows.spec.day]) != day else "unknown"


def _closest(source: tuple, copies: list[tuple], spec: TableSpec) -> list[str]:
    """The columns in which the sink row closest to the source row differs from it."""
    names = spec.names
    best = min(([names[i] for i, (a, b) in enumerate(zip(source, copy)) if a != b] for copy in copies), key=len)
    return [n for n in best if n != spec.key]


def _check(world: World, found: dict) -> None:
    """Each row came out as its kind says."""
    keys = {key for _, key in found}
    for intent in world.intents:
        got = found.get((intent.day, intent.key), [])
        want = {"ok": [], "duplicate": [("duplicate",)], "missing": [("missing",)],
                "changed": [("changed", intent.detail)], "stale": [("stale", intent.detail)],
                "deleted": [("stale", "deleted")], "day_moved": [("stale", "day_moved")],
                "noise": [], "outside": []}[intent.kind]
        ok = got == want
        if intent.kind == "day_moved":
            ok = ok and found.get((intent.moved_to, intent.key)) == [("missing",)]
        if intent.kind in ("noise", "outside"):
            ok = ok and intent.key not in keys
        if not ok:
            raise RuntimeFailure(f"generator bug: a {intent.kind} {intent.detail} row ({intent.key}, "
                                 f"{intent.day}) came out as {got or 'in sync'}")
