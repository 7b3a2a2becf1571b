"""Scope analysis (the seed's tables, generated): per-day and total counts on both sides, the breakdown,
and the drift explained (from the row-level diff). `Scope.to_json()` is the `scope --json` / `verify
--json` document; its keys are a contract (chsync/schemas/: fields may be added, a rename is a new version)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from .dates import day_range
from .diff.result import CLASSES, RangeDiff
from .diff.run import diff_with_mode
from .schemas import tagged
from .sink.base import ClickHouseSink
from .source.postgres import PostgresSource


@dataclasses.dataclass
class DayRow:
    day: dt.date
    source: int
    sink_rows: int
    sink_distinct: int
    duplicates: int
    missing: int = 0
    stale: int = 0
    changed: int = 0
    in_sync: bool = True

    def to_json(self) -> dict:
        return {"day": self.day.isoformat(), "source": self.source, "sink_rows": self.sink_rows,
                "sink_distinct": self.sink_distinct, "duplicates": self.duplicates,
                "extra_duplicate_rows": self.sink_rows - self.sink_distinct, "missing": self.missing,
                "stale": self.stale, "changed": self.changed, "in_sync": self.in_sync}


@dataclasses.dataclass
class Scope:
    table: str
    customer: str | None
    first: dt.date
    last: dt.date
    sink_table: str
    noun: tuple[str, str]
    source_rows: int
    units: tuple[int, int] | None            # (scanned, of this customer): the spec's [tenant] units line
    sink_rows: int
    sink_distinct: int
    sink_duplicated: int
    duplicates_by_placement: dict[str, int]
    days: list[DayRow]
    day_column: str
    day_timezone: str
    breakdown_column: str | None
    breakdown_title: str | None
    breakdown: list[tuple[str, int, int]]    # (name, source rows, sink distinct keys)
    stale_reasons: dict[str, int]
    changed_columns: dict[str, int]
    mode: str
    why: str
    samples: dict[str, list[str]] | None = None
    replicas: list[dict] | None = None       # replica_drift's records; None where rows have one copy
    fingerprints: dict[dt.date, tuple[int, int]] = dataclasses.field(default_factory=dict)  # Postgres's, per day

    @property
    def in_sync(self) -> bool:
        return all(d.in_sync for d in self.days)

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(d, k) for d in self.days) for k in ("missing", "stale", "changed")}

    @property
    def extra_duplicate_rows(self) -> int:
        return self.sink_rows - self.sink_distinct

    def drifted_days(self) -> list[DayRow]:
        return [d for d in self.days if not d.in_sync]

    def to_json(self, command: str = "scope") -> dict:
        """The `command` document (scope or verify: the same shape, each its own schema name)."""
        scanned, matched = self.units if self.units else (None, None)
        doc: dict[str, Any] = {
            "table": self.table, "customer": self.customer, "from": self.first.isoformat(),
            "to": self.last.isoformat(), "sink_table": self.sink_table,
            "source": {"rows": self.source_rows, "units_scanned": scanned, "units_matched": matched},
            "sink": {"rows": self.sink_rows, "distinct": self.sink_distinct,
                     "duplicate_keys": self.sink_duplicated,
                     "extra_duplicate_rows": self.extra_duplicate_rows,
                     "duplicates_by_placement": self.duplicates_by_placement},
            "days": [d.to_json() for d in self.days],
            "breakdown": {"column": self.breakdown_column, "title": self.breakdown_title,
                          "values": [{"value": name, "source": s, "sink": k} for name, s, k in self.breakdown]},
            "noun": list(self.noun),
            "day": {"column": self.day_column, "timezone": self.day_timezone},
            "totals": self.totals,
            "stale_reasons": self.stale_reasons,
            "changed_columns": self.changed_columns,
            "in_sync": self.in_sync,
            "mode": {"mode": self.mode, "why": self.why},
        }
        if self.samples is not None:
            doc["samples"] = self.samples
        if self.replicas is not None:
            doc["replicas"] = {"differing": self.replicas}
        return tagged(command, doc)


def breakdown_title(column: str | None) -> str | None:
    """"shop_id" → "Shop", "order_channel" → "Order channel": the breakdown's heading in reports."""
    if column is None:
        return None
    words = column.removesuffix("_id").replace("_", " ")
    return words[:1].upper() + words[1:]


def build_scope(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date,
                *, samples: int = 0, explain: bool = True, mode: str = "auto") -> Scope:
    source.check_customer()
    sink.require_table()
    units = source.units()
    diff, mode, why = diff_with_mode(source, sink, first, last, mode, explain=explain, keep=samples,
                                     breakdown=True)
    empty = {"rows": 0, "distinct": 0, "duplicates": 0}
    days: list[DayRow] = []
    sample_ids: dict[str, list[str]] = {k: [] for k in CLASSES}
    for day in day_range(first, last):
        src, snk = diff.source_days.get(day, (0, 0)), diff.sink_days.get(day, empty)
        row = DayRow(day, src[0], snk["rows"], snk["distinct"], snk["duplicates"])
        if day in diff.days:
            d = diff.days[day]
            counts = d.counts()
            row.missing, row.stale, row.changed = counts["missing"], counts["stale"], counts["changed"]
            row.in_sync = d.in_sync
            for kind in sample_ids:
                sample_ids[kind].extend(getattr(d, kind)[: max(0, samples - len(sample_ids[kind]))])
        days.append(row)
    replicas = sink.replica_drift(first, last) if sink.capabilities.replica_copies else None
    diverged = {r["day"] for r in replicas or []}
    for row in days:
        if row.day.isoformat() in diverged:
            row.in_sync = False
    totals = sink.range_totals(first, last)
    spec = source.spec
    scope = Scope(
        table=spec.name, customer=spec.customer, first=first, last=last, sink_table=sink.read_table,
        noun=spec.noun, source_rows=sum(n for n, _ in diff.source_days.values()), units=units,
        sink_rows=totals["rows"], sink_distinct=totals["distinct"],
        sink_duplicated=totals["duplicate_keys"],
        duplicates_by_placement=(sink.duplicate_split(first, last) if totals["duplicate_keys"]
                                 else {"same_shard": 0, "cross_shard": 0}), days=days,
        day_column=spec.day, day_timezone=spec.day_timezone,
        breakdown_column=spec.breakdown, breakdown_title=breakdown_title(spec.breakdown),
        breakdown=_breakdown(source, sink, first, last, diff, unique_keys=totals["rows"] == totals["distinct"]),
        stale_reasons=diff.reason_counts(), changed_columns=diff.column_counts(), mode=mode, why=why,
        samples=sample_ids if samples else None, replicas=replicas, fingerprints=dict(diff.source_days))
    sink.release_memory()   # the totals and the breakdown came after the diff's own release
    return scope


def _breakdown(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date,
               diff: RangeDiff, *, unique_keys: bool) -> list[tuple[str, int, int]]:
    """Rows per breakdown name on both sides (sink values named through the source's names table), the
    source's as the diff counted them when it did. `unique_keys`: no sink key has two rows in the range,
    so the sink counts rows without grouping by key."""
    names = source.breakdown_names()
    if diff.source_breakdown is None:
        src = source.breakdown_counts(first, last)
    else:   # named as breakdown_counts names them in SQL: NULL is '', a value without a name itself
        src = {}
        for raw, n in diff.source_breakdown.items():
            named = None if raw is None else names.get(raw)
            name = "" if raw is None else raw if named is None else named
            src[name] = src.get(name, 0) + n
    sink_counts = sink.breakdown_counts(first, last, unique_keys=unique_keys)
    snk: dict[str, int] = {}
    for value, n in sink_counts.items():
        name = names.get(value, value)
        snk[name] = snk.get(name, 0) + n
    return [(u, src.get(u, 0), snk.get(u, 0)) for u in sorted(set(src) | set(snk), key=lambda u: (-src.get(u, 0), u))]
