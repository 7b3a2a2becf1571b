"""Day parsing and ranges: days are UTC dates, ranges are inclusive on both ends."""

from __future__ import annotations

import datetime as dt
import re

from .errors import BadInput

MAX_RANGE_DAYS = 3660
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str, what: str = "date") -> dt.date:
    try:
        if not _ISO_DAY.match(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise BadInput(f"{what} {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-01-20") from None


def day_range(first: dt.date, last: dt.date) -> list[dt.date]:
    if last < first:
        raise BadInput(f"--from {first} is after --to {last}: swap them")
    n = (last - first).days + 1
    if n > MAX_RANGE_DAYS:
        raise BadInput(f"range {first}..{last} has {n} days, more than {MAX_RANGE_DAYS}: split it")
    return [first + dt.timedelta(days=i) for i in range(n)]


def resolve_days(day: str | None, from_: str | None, to: str | None) -> list[dt.date]:
    """Days from either `--day D` or `--from D --to D`."""
    if day is not None:
        if from_ is not None or to is not None:
            raise BadInput("give either --day or --from/--to, not both")
        d = parse_day(day, "--day")
        return [d]
    if from_ is None or to is None:
        raise BadInput("give --day D or both --from D and --to D")
    return day_range(parse_day(from_, "--from"), parse_day(to, "--to"))


def parse_range(from_: str, to: str) -> tuple[dt.date, dt.date]:
    """`--from D --to D`, checked (a valid, not inverted, not absurdly long range)."""
    first, last = parse_day(from_, "--from"), parse_day(to, "--to")
    day_range(first, last)
    return first, last
