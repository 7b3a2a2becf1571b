"""A compacted day of a diff keeps its counts, reasons and columns, and only its first keys."""

from __future__ import annotations

import datetime as dt

from chsync.diff.result import DayDiff, RangeDiff


def _day(prefix: str) -> DayDiff:
    return DayDiff(
        missing=[f"{prefix}m{i}" for i in range(5)], stale=[f"{prefix}s{i}" for i in range(4)],
        changed=[f"{prefix}c{i}" for i in range(6)], duplicates=[f"{prefix}d0"],
        stale_reasons={f"{prefix}s{i}": ("deleted" if i % 2 else "is_dev_user") for i in range(4)},
        changed_columns={f"{prefix}c{i}": (["labels"] if i < 4 else ["labels", "ended_at"]) for i in range(6)})


def test_a_compacted_diff_reports_what_the_full_one_does_with_fewer_samples():
    days = [dt.date(2026, 1, 1), dt.date(2026, 1, 2)]
    full = RangeDiff(days[0], days[-1], ["is_dev_user", "deleted"], days={d: _day(f"{d.day}-") for d in days})
    small = RangeDiff(days[0], days[-1], ["is_dev_user", "deleted"], days={d: _day(f"{d.day}-") for d in days})
    for d in small.days.values():
        d.compact(2)
        d.compact(2)          # twice: the counts are those of the day, not of what was left
    assert [len(d.changed) for d in small.days.values()] == [2, 2]
    assert small.reason_counts() == full.reason_counts() == {"is_dev_user": 4, "deleted": 4}
    assert small.column_counts() == full.column_counts() == {"labels": 12, "ended_at": 4}
    assert [d.counts() for d in small.days.values()] == [d.counts() for d in full.days.values()]
    doc, whole = small.to_json("acme", 2), full.to_json("acme", 2)
    assert doc == whole and doc["classes"] == {"missing": 10, "stale": 8, "changed": 12, "duplicates": 2}
    assert doc["samples"]["stale"] == [{"id": "1-s0", "reason": "is_dev_user"}, {"id": "1-s1", "reason": "deleted"}]


def test_a_day_whose_keys_were_all_dropped_is_still_out_of_sync():
    day = _day("x")
    day.compact(0)
    assert not day.in_sync and day.counts()["missing"] == 5 and day.missing == []
    assert DayDiff().in_sync
