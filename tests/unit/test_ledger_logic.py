"""The ledger's pure logic: which days the sweep takes, what a day's state is, how old the oldest proof is,
and how scattered days are compared run by run. No database."""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import given
from hypothesis import strategies as st

from chsync.apply.ledger import DayProof, least_recently_proven, run_started, summarize
from chsync.apply.sync import _runs_of

D0 = dt.date(2026, 1, 1)


def day(i: int) -> dt.date:
    return D0 + dt.timedelta(days=i)


def proof(i: int, proven: float | None, drifted: float | None = None, healed: float | None = None) -> DayProof:
    return DayProof(day(i), proven, 10, drifted, healed)


def test_never_proven_days_come_first_then_the_oldest_proofs():
    proofs = {day(0): proof(0, 50.0), day(1): proof(1, 10.0), day(3): proof(3, 30.0)}
    assert least_recently_proven(proofs, [day(i) for i in range(5)], 3) == [day(1), day(2), day(4)]
    assert least_recently_proven(proofs, [day(i) for i in range(5)], 0) == []


def test_a_days_state():
    assert proof(0, None).state == "never"
    assert proof(0, 10.0).state == "proven"
    assert proof(0, 10.0, drifted=20.0).state == "drifted"
    assert proof(0, 30.0, drifted=20.0, healed=25.0).state == "healed"
    assert proof(0, None, drifted=20.0).state == "drifted"


def test_the_summary_counts_never_proven_days_and_the_oldest_age():
    proofs = {day(0): proof(0, 100.0), day(1): proof(1, 400.0)}
    summary = summarize(proofs, [day(0), day(1), day(2)], now=1000.0)
    assert (summary.days, summary.days_never_proven, summary.oldest_proof_age_seconds) == (3, 1, 900.0)
    assert summarize({}, [day(0)], now=5.0).oldest_proof_age_seconds is None


@given(st.integers(1, 120), st.integers(1, 15))
def test_sweeping_k_a_night_proves_every_day_within_ceil_days_over_k_nights(days: int, k: int):
    """What the sweep promises, run night after night: each night proves the k days proven longest ago."""
    history = [day(i) for i in range(days)]
    proofs: dict[dt.date, DayProof] = {}
    last_proven = {d: -1 for d in history}
    for night in range(1, 3 * math.ceil(days / k) + 1):
        for d in least_recently_proven(proofs, history, k):
            proofs[d] = DayProof(d, float(night), 1, None, None)
            last_proven[d] = night
        if night >= math.ceil(days / k):   # from then on no day is older than the promise
            assert all(night - n < math.ceil(days / k) for n in last_proven.values()), night


def test_scattered_days_are_compared_as_runs_of_consecutive_days():
    assert _runs_of([day(0), day(1), day(2), day(5), day(7), day(8)]) == [
        (day(0), day(2)), (day(5), day(5)), (day(7), day(8))]
    assert _runs_of([]) == []


def test_days_one_run_proved_are_equally_old_whatever_order_its_workers_finished():
    """A run's workers prove its days in any order: the sweep takes the earliest days among them, so two
    runs of the same history choose the same days."""
    started = run_started("backfill-20260301T020000Z-ab12")
    assert started == dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC).timestamp()
    finished = {day(i): started + 60 - i for i in range(6)}     # the last day finished first
    proofs = {d: DayProof(d, at, 1, None, None, started) for d, at in finished.items()}
    assert least_recently_proven(proofs, proofs, 3) == [day(0), day(1), day(2)]
    later = {**proofs, day(0): DayProof(day(0), started + 3600, 1, None, None, started + 3500)}
    assert least_recently_proven(later, later, 3) == [day(1), day(2), day(3)]
