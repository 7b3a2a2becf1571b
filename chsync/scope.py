"""Scope analysis (the seed's tables, generated): per-day and total counts on both sides, and the drift
explained (from the row-level diff)."""

from __future__ import annotations

import datetime as dt

from .dates import day_range
from .diff import diff_with_mode
from .sink.base import ClickHouseSink
from .source.postgres import PostgresSource


def build_scope(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date,
                *, samples: int = 0, explain: bool = True, mode: str = "auto") -> dict:
    source.check_customer()
    sink.require_table()
    scanned, matched = source.profiles()
    diff, mode, why = diff_with_mode(source, sink, first, last, mode, explain=explain)
    empty = {"rows": 0, "distinct": 0, "duplicates": 0}

    days, sample_ids = [], {"missing": [], "stale": [], "changed": [], "duplicates": []}
    for day in day_range(first, last):
        src, snk = diff.source_days.get(day, (0, 0)), diff.sink_days.get(day, empty)
        row = {"day": day.isoformat(), "source": src[0], "sink_rows": snk["rows"], "sink_distinct": snk["distinct"],
               "duplicates": snk["duplicates"], "extra_duplicate_rows": snk["rows"] - snk["distinct"],
               "missing": 0, "stale": 0, "changed": 0, "in_sync": True}
        if day in diff.days:
            d = diff.days[day]
            row.update({k: v for k, v in d.counts().items() if k != "duplicates"})
            row["in_sync"] = d.in_sync
            for kind in sample_ids:
                sample_ids[kind].extend(getattr(d, kind)[: max(0, samples - len(sample_ids[kind]))])
        days.append(row)

    totals = sink.range_totals(first, last)
    doc = {
        "customer": source.spec.customer, "from": first.isoformat(), "to": last.isoformat(),
        "sink_table": sink.read_table,
        "source": {"conversations": sum(n for n, _ in diff.source_days.values()),
                   "profiles_scanned": scanned, "profiles_matched": matched},
        "sink": {"rows": totals["rows"], "distinct": totals["distinct"],
                 "duplicate_conversations": totals["duplicate_conversations"],
                 "extra_duplicate_rows": totals["rows"] - totals["distinct"],
                 "duplicates_by_placement": sink.duplicate_split(first, last)},
        "days": days,
        "usecases": _usecases(source, sink, first, last),
        "totals": {k: sum(d[k] for d in days) for k in ("missing", "stale", "changed")},
        "stale_reasons": diff.reason_counts(),
        "changed_columns": diff.column_counts(),
        "in_sync": all(d["in_sync"] for d in days),
        "mode": {"mode": mode, "why": why},
    }
    if samples:
        doc["samples"] = sample_ids
    return doc


def _usecases(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date) -> list[dict]:
    """Distinct conversations per usecase name on both sides (sink ids named via the source's table)."""
    names = source.usecase_names()
    src = source.usecase_counts(first, last)
    snk: dict[str, int] = {}
    for usecase_id, n in sink.usecase_counts(first, last).items():
        name = names.get(usecase_id, usecase_id)
        snk[name] = snk.get(name, 0) + n
    return [{"usecase": u, "source": src.get(u, 0), "sink": snk.get(u, 0)}
            for u in sorted(set(src) | set(snk), key=lambda u: (-src.get(u, 0), u))]
