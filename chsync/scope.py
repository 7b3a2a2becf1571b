"""Scope analysis (the seed's tables, generated): per-day and total counts on both sides, and the drift.

Days whose fingerprints (count, distinct, hash sum) agree on both sides are in sync without moving a key;
only the other days are drilled into by (id, hash) pairs.
"""

from __future__ import annotations

import datetime as dt

from .dates import day_range
from .diff import compare_day
from .sink.base import ClickHouseSink
from .source.postgres import PostgresSource

STALE_REASONS = ("deleted", "ended_at_reset", "day_moved", "dev_user", "source_type_changed",
                 "no_agent_assistance", "customer_changed")


def _day_row(day: dt.date, src: tuple[int, int], snk: dict) -> dict:
    return {"day": day.isoformat(), "source": src[0], "sink_rows": snk["rows"], "sink_distinct": snk["distinct"],
            "duplicates": snk["duplicates"], "extra_duplicate_rows": snk["rows"] - snk["distinct"],
            "missing": 0, "stale": 0, "changed": 0, "in_sync": True}


def _fingerprints_agree(src: tuple[int, int], snk: dict) -> bool:
    return src[0] == snk["rows"] == snk["distinct"] and src[1] == snk["hash_sum"]


def build_scope(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date,
                *, samples: int = 0) -> dict:
    source.check_customer()
    sink.require_table()
    scanned, matched = source.profiles()
    precision = sink.capabilities.time_precision
    src_days = source.day_fingerprints(first, last, precision)
    sink_days = sink.day_stats(first, last)
    empty = {"rows": 0, "distinct": 0, "duplicates": 0, "hash_sum": 0}

    days, sample_ids = [], {"missing": [], "stale": [], "changed": [], "duplicates": []}
    for day in day_range(first, last):
        src, snk = src_days.get(day, (0, 0)), sink_days.get(day, empty)
        row = _day_row(day, src, snk)
        if not _fingerprints_agree(src, snk):
            diff = compare_day(source.day_hashes(day, precision), sink.day_hashes(day))
            row.update({k: v for k, v in diff.counts().items() if k != "duplicates"})
            row["in_sync"] = diff.in_sync
            for kind, ids in vars(diff).items():
                sample_ids[kind].extend(ids[: max(0, samples - len(sample_ids[kind]))])
        days.append(row)

    totals = sink.range_totals(first, last)
    names = source.usecase_names()
    src_uc = source.usecase_counts(first, last)
    sink_uc: dict[str, int] = {}
    for usecase_id, n in sink.usecase_counts(first, last).items():
        name = names.get(usecase_id, usecase_id)
        sink_uc[name] = sink_uc.get(name, 0) + n
    usecases = [{"usecase": u, "source": src_uc.get(u, 0), "sink": sink_uc.get(u, 0)}
                for u in sorted(set(src_uc) | set(sink_uc), key=lambda u: -src_uc.get(u, 0))]

    doc = {
        "customer": source.spec.customer, "from": first.isoformat(), "to": last.isoformat(),
        "sink_table": sink.read_table,
        "source": {"conversations": sum(n for n, _ in src_days.values()),
                   "profiles_scanned": scanned, "profiles_matched": matched},
        "sink": {"rows": totals["rows"], "distinct": totals["distinct"],
                 "duplicate_conversations": totals["duplicate_conversations"],
                 "extra_duplicate_rows": totals["rows"] - totals["distinct"]},
        "days": days,
        "usecases": usecases,
        "totals": {k: sum(d[k] for d in days) for k in ("missing", "stale", "changed")},
        # Reasons and changed columns are filled by the row-level diff (not yet built): zeros here.
        "stale_reasons": dict.fromkeys(STALE_REASONS, 0),
        "changed_columns": {},
        "in_sync": all(d["in_sync"] for d in days),
    }
    if samples:
        doc["samples"] = sample_ids
    return doc
