"""How many rows of each drift kind the generator makes for any table, per day: pure arithmetic.

A fixed range of 14 days (across a month's end, so month partitions have two months) holds, at scale 1,
10,000 rows a day in Postgres's source set (weekends a fifth fewer). Of them, per every hundred: one
missing from the sink, one duplicated in it, one changed in each compared column; on top, in the sink
only, one stale per predicate of the filter and per deletion, half a one whose day moved. Noise rows
that never pass (a tenth) and rows outside the range (2%) go to Postgres only. Every kind has at least
one row at any scale, so each is seen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from ..errors import BadInput
from .shape import spread

FIRST = dt.date(2026, 1, 25)
LAST = FIRST + dt.timedelta(days=13)
DAYS = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
PER_DAY = 10_000
WEEKEND = 0.8
RATE = 0.01
DAY_MOVED_RATE = 0.005
NOISE_RATE = 0.10
OUTSIDE_RATE = 0.02


@dataclasses.dataclass(frozen=True)
class Segment:
    """`count` rows of one kind on one day (their day in the sink; `moved_to` is their day in Postgres
    for day_moved). `detail`: the changed column, or the reason of a stale row."""
    day: dt.date
    kind: str            # ok, duplicate, missing, changed, stale, deleted, day_moved, noise, outside
    detail: str = ""
    count: int = 0
    moved_to: dt.date | None = None


def check_scale(scale: object) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) \
            or not 0 < scale <= 10:
        raise BadInput(f"scale must be a number in (0, 10], got {scale!r}")
    return float(scale)


def source_counts(scale: float) -> dict[dt.date, int]:
    return {d: max(1, round(PER_DAY * scale * (WEEKEND if d.weekday() >= 5 else 1.0))) for d in DAYS}


def moved_to(day: dt.date) -> dt.date:
    """Where a day_moved row of `day` is now: 1-3 days later, or earlier near the end of the range."""
    step = dt.timedelta(days=1 + day.toordinal() % 3)
    return day + step if day + step <= LAST else day - step


def plan(scale: float, changed: list[str], reasons: list[str]) -> list[Segment]:
    """The segments, day by day, in a fixed order (row numbers follow it). `changed`: the columns a row
    can change in; `reasons`: the predicates a row can be stale by (the first it fails)."""
    source = source_counts(check_scale(scale))
    total = sum(source.values())

    def per_day(rate: float) -> dict[dt.date, int]:
        return spread(max(1, round(total * rate)), source)

    missing, duplicate = per_day(RATE), per_day(RATE)
    changes = {c: per_day(RATE) for c in changed}
    stale = {r: per_day(RATE) for r in reasons}
    deleted, moving = per_day(RATE), per_day(DAY_MOVED_RATE)
    noise, outside = per_day(NOISE_RATE), per_day(OUTSIDE_RATE)
    arrivals = dict.fromkeys(DAYS, 0)
    for d in DAYS:
        arrivals[moved_to(d)] += moving[d]
    segments = []
    for d in DAYS:
        passing = duplicate[d] + missing[d] + sum(c[d] for c in changes.values()) + arrivals[d]
        if passing > source[d]:
            raise BadInput(f"scale {scale} is too small for the drift of {d}: use a larger scale")
        segments += [Segment(d, "ok", count=source[d] - passing), Segment(d, "duplicate", count=duplicate[d]),
                     Segment(d, "missing", count=missing[d])]
        segments += [Segment(d, "changed", c, counts[d]) for c, counts in changes.items()]
        segments += [Segment(d, "stale", r, counts[d]) for r, counts in stale.items()]
        segments += [Segment(d, "deleted", count=deleted[d]), Segment(d, "day_moved", count=moving[d],
                                                                      moved_to=moved_to(d)),
                     Segment(d, "noise", count=noise[d]), Segment(d, "outside", count=outside[d])]
    return [s for s in segments if s.count]
