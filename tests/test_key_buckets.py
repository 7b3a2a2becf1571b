"""A range aggregated in buckets of keys (or, per day, in runs of days), one at a time so that memory stays
near a bucket's, adds up to exactly what one pass over every key gives: per-day rows, distinct keys,
duplicates and hash sums, the range's totals, the duplicated keys and the breakdown (on the seed's
drifted data, which has duplicates within and across days)."""

from __future__ import annotations

import datetime as dt

from chsync.demo.generate import generate
from chsync.demo.shape import FIRST, LAST
from chsync.sink import base


def _aggregates(sink) -> tuple:
    return (sink.day_stats(FIRST, LAST), sink.range_totals(FIRST, LAST), sorted(sink.duplicate_ids(FIRST, LAST)),
            sink.breakdown_counts(FIRST, LAST))


def test_buckets_of_keys_add_up_to_one_pass(env, monkeypatch):
    with env.sink() as sink:
        generate(env.source, sink, scale=0.01, seed=4)
        assert sink.key_buckets(FIRST, LAST) == ["1"]
        one_pass = _aggregates(sink)
        assert sink.day_chunks(FIRST, LAST) == [(FIRST, LAST)]
        monkeypatch.setattr(base, "KEY_BUCKET_ROWS", 2_000)
        monkeypatch.setattr(base, "DAY_RUN_ROWS", 2_000)
        assert len(sink.key_buckets(FIRST, LAST)) >= 5
        chunks = sink.day_chunks(FIRST, LAST)
        assert len(chunks) >= 5 and chunks[0][0] == FIRST and chunks[-1][1] == LAST
        assert all(b + dt.timedelta(days=1) == a for (_, b), (a, _) in zip(chunks, chunks[1:]))
        assert _aggregates(sink) == one_pass
    day_stats, totals, duplicated, _ = one_pass
    assert totals["duplicate_keys"] == len(duplicated) > 0
    assert sum(d["rows"] for d in day_stats.values()) == totals["rows"] > totals["distinct"]


def test_the_breakdown_of_unique_keys_is_counted_without_grouping_by_key(env):
    """What verify does when the range totals say no key has two rows: the plain count per value equals the
    count of distinct keys per value; on a range with duplicated keys it would not (hence the guard)."""
    with env.sink() as sink:
        generate(env.source, sink, scale=0.01, seed=4)
        stats = sink.day_stats(FIRST, LAST)
        day = next(d for d, s in sorted(stats.items()) if s["rows"] == s["distinct"])
        totals = sink.range_totals(day, day)
        assert totals["rows"] == totals["distinct"] > 0
        assert sink.breakdown_counts(day, day, unique_keys=True) == sink.breakdown_counts(day, day)
        whole = sink.range_totals(FIRST, LAST)
        assert whole["rows"] > whole["distinct"]
        assert sum(sink.breakdown_counts(FIRST, LAST, unique_keys=True).values()) == whole["rows"]
        assert sum(sink.breakdown_counts(FIRST, LAST).values()) < whole["rows"]
