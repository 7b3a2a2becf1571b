"""What a diff found, as typed data: per differing day the keys of each class (missing, stale with its
reason, changed with its columns, duplicates), and the per-day fingerprints of both sides."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Any

from ..schemas import tagged

CLASSES = ("missing", "stale", "changed", "duplicates")


@dataclasses.dataclass
class DayDiff:
    missing: list[str] = dataclasses.field(default_factory=list)
    stale: list[str] = dataclasses.field(default_factory=list)
    changed: list[str] = dataclasses.field(default_factory=list)
    duplicates: list[str] = dataclasses.field(default_factory=list)
    stale_reasons: dict[str, str] = dataclasses.field(default_factory=dict)        # key -> reason
    changed_columns: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # key -> columns
    # Changed rows per column, when they were counted where the rows are and changed_columns holds only
    # the sampled keys.
    column_rows: Counter | None = None
    # Set by `compact`: the day's totals, once its key lists keep only a few samples.
    tally: DayTally | None = None

    @property
    def in_sync(self) -> bool:
        return not any(self.counts().values())

    def counts(self) -> dict[str, int]:
        if self.tally is not None:
            return dict(self.tally.counts)
        return {k: len(getattr(self, k)) for k in CLASSES}

    def reasons(self) -> Counter:
        """Stale rows per reason."""
        return Counter(self.tally.reasons) if self.tally is not None else Counter(self.stale_reasons.values())

    def columns(self) -> Counter:
        """Changed rows per column."""
        if self.tally is not None:
            return Counter(self.tally.columns)
        if self.column_rows is not None:
            return Counter(self.column_rows)
        return Counter(c for cols in self.changed_columns.values() for c in cols)

    def count_columns(self, columns: list[str], rows: int) -> None:
        """`rows` changed rows differ in `columns` (their keys need not be listed in changed_columns)."""
        self.column_rows = self.column_rows if self.column_rows is not None else Counter()
        self.column_rows.update(dict.fromkeys(columns, rows))

    def compact(self, keep: int) -> None:
        """Keep the counts and only the first `keep` keys of each class: a diff where every row differs
        then holds a window's keys, not the range's."""
        if self.tally is None:
            self.tally = DayTally(self.counts(), self.reasons(), self.columns())
        for kind in CLASSES:
            setattr(self, kind, getattr(self, kind)[:keep])
        self.stale_reasons = {k: self.stale_reasons[k] for k in self.stale if k in self.stale_reasons}
        self.changed_columns = {k: self.changed_columns[k] for k in self.changed if k in self.changed_columns}


@dataclasses.dataclass(frozen=True)
class DayTally:
    counts: dict[str, int]
    reasons: Counter
    columns: Counter


@dataclasses.dataclass
class RangeDiff:
    first: dt.date
    last: dt.date
    reasons: list[str]                          # every declared stale reason, in the spec's order
    source_days: dict[dt.date, tuple[int, int]] = dataclasses.field(default_factory=dict)
    sink_days: dict[dt.date, dict] = dataclasses.field(default_factory=dict)
    days: dict[dt.date, DayDiff] = dataclasses.field(default_factory=dict)   # only days whose fingerprints differ
    # {breakdown value as text: rows} of the source, when the diff counted them in its pass (None: NULL)
    source_breakdown: dict[str | None, int] | None = None

    def reason_counts(self) -> dict[str, int]:
        counts = sum((d.reasons() for d in self.days.values()), Counter())
        return {r: counts.get(r, 0) for r in self.reasons} | {r: n for r, n in counts.items() if r not in self.reasons}

    def column_counts(self) -> dict[str, int]:
        counts = sum((d.columns() for d in self.days.values()), Counter())
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def to_json(self, customer: str | None, limit: int) -> dict:
        """The `chsync diff --json` document: counts per class and day, up to `limit` samples per class."""
        days: list[dict[str, Any]] = [{"day": day.isoformat(), **d.counts()}
                                      for day, d in sorted(self.days.items()) if not d.in_sync]
        samples: dict[str, list] = {"missing": [], "stale": [], "changed": [], "duplicates": []}
        for d in self.days.values():
            def room(kind: str) -> int:
                return max(0, limit - len(samples[kind]))
            samples["missing"] += d.missing[: room("missing")]
            samples["duplicates"] += d.duplicates[: room("duplicates")]
            samples["stale"] += [{"id": k, "reason": d.stale_reasons.get(k)} for k in d.stale[: room("stale")]]
            samples["changed"] += [{"id": k, "columns": d.changed_columns.get(k, [])}
                                   for k in d.changed[: room("changed")]]
        classes = {k: sum(d[k] for d in days) for k in CLASSES}
        return tagged("diff", {"customer": customer, "from": self.first.isoformat(), "to": self.last.isoformat(),
                               "classes": classes, "stale_reasons": self.reason_counts(),
                               "changed_columns": self.column_counts(), "days": days, "samples": samples,
                               "in_sync": not days})
