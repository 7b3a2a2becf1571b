"""Runs of the daily job (`chsync sync --day D --lookback N`), one after another: what each synced, which
days of its lookback it found drifted and healed, and how many rows of drift that fixed. Plain typed
values, so the charts, the Markdown and the HTML page render them without knowing who made them (the
demo's act 2 does, from the runs it made)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

DRIFT_KINDS = ("stale", "changed", "missing", "duplicates")


@dataclasses.dataclass(frozen=True)
class DailyRun:
    day: dt.date                                   # the day the run synced (the new day)
    checked: tuple[dt.date, ...]                   # its lookback: the days compared with the source
    drifted: tuple[dt.date, ...]                   # of those, the ones that differed
    healed: tuple[dt.date, ...]                    # of those, the ones it replaced
    rows_written: int                              # the new day's rows and the healed days' rows
    fixed: Mapping[dt.date, Mapping[str, int]]     # healed day -> drift rows it held, by kind (DRIFT_KINDS)
    seconds: float
    notes: Mapping[dt.date, str] = dataclasses.field(default_factory=dict)   # what happened to a day before
    #                                              the run, in the words of whoever made the runs

    @property
    def left(self) -> tuple[dt.date, ...]:
        """Drifted days the run did not heal (a cap on healing, or a dry run)."""
        return tuple(d for d in self.drifted if d not in self.healed)

    def fixed_by_kind(self) -> dict[str, int]:
        return {k: sum(day.get(k, 0) for day in self.fixed.values()) for k in DRIFT_KINDS}


@dataclasses.dataclass(frozen=True)
class RangeVerdict:
    """A verify of a whole range after the runs."""
    first: dt.date
    last: dt.date
    days: int
    rows: int                                      # source rows of the range
    in_sync: bool
    days_out_of_sync: int = 0


@dataclasses.dataclass(frozen=True)
class DailyJob:
    lookback: int
    runs: tuple[DailyRun, ...]
    verified: RangeVerdict | None = None
    sweep: int = 0        # days of the history each run also checked, those proven longest ago

    @property
    def calendar(self) -> list[dt.date]:
        """Every day a run synced or checked, first to last."""
        days = [d for r in self.runs for d in (*r.checked, r.day)]
        if not days:
            return []
        first, last = min(days), max(days)
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
