"""The generator's arithmetic (chsync/demo/shape.py): the seed's figures at scale 1, and how they scale.
Pure: no databases."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from chsync.demo import shape
from chsync.demo.generate import LABELS, label_combos

SCALES = [1.0, 0.1, 0.01]
D = dt.date


@pytest.mark.parametrize("scale", SCALES)
def test_day_totals(scale):
    counts = shape.day_counts(scale)
    assert list(counts) == shape.DAYS and len(counts) == 49
    assert shape.DAYS[0] == D(2026, 1, 1) and shape.DAYS[-1] == D(2026, 2, 18)
    assert sum(counts.values()) == round(1_510_418 * scale)
    assert all(n > 0 for n in counts.values())
    if scale == 1.0:
        assert {d: counts[d] for d in shape.SAMPLE_DAYS} == {
            D(2026, 1, 1): 27_255, D(2026, 1, 5): 44_593, D(2026, 1, 17): 26_341, D(2026, 1, 20): 33_929,
            D(2026, 1, 29): 31_273, D(2026, 2, 10): 32_249, D(2026, 2, 13): 30_208}
    # weekday/weekend shape on ordinary weeks
    assert counts[D(2026, 1, 10)] < counts[D(2026, 1, 13)]   # Saturday < Tuesday
    assert counts[D(2026, 2, 7)] < counts[D(2026, 2, 4)]     # Saturday < Wednesday


@pytest.mark.parametrize("scale", SCALES)
def test_plan_source_and_sink_totals(scale):
    plan = shape.plan(scale)
    totals = plan.totals()
    assert totals["source"] == round(1_510_418 * scale)       # source per day = day_counts, day_moved included
    assert [d.source for d in plan.days] == list(shape.day_counts(scale).values())
    for d in plan.days:
        e = d.expected
        assert d.ok >= 0 and e["sink_rows"] == e["sink_distinct"] + e["duplicates"]
        assert e["sink_distinct"] == e["source"] - e["missing"] + e["stale"]
        assert sum(d.stale.values()) == e["stale"]
    assert plan.stale_reasons() == {r: shape.scaled(n, scale) for r, n in shape.STALE.items()}
    assert all(n > 0 for n in plan.stale_reasons().values()), "every stale reason occurs at every scale"
    assert totals["changed"] == shape.scaled(100_000, scale) + shape.scaled(600, scale)
    assert totals["missing"] == shape.scaled(3_000, scale) + shape.scaled(500, scale)
    # ≈123K stale (the seed's excess, plus what is missing), ≈15% noise
    assert math.isclose(totals["stale"], 126_358 * scale, rel_tol=0.01, abs_tol=2)
    assert math.isclose(sum(plan.noise.values()), 0.15 * totals["source"], rel_tol=0.01)


def test_scale_one_is_the_seed():
    plan = shape.plan(1.0)
    totals = plan.totals()
    assert totals == {"source": 1_510_418, "sink_rows": 1_636_467, "sink_distinct": 1_633_276,
                      "duplicates": 3_191, "missing": 3_500, "stale": 126_358, "changed": 100_600}
    by_day = {d.day: d.expected for d in plan.days}
    for day, (rows, distinct) in shape.SAMPLE_SINK.items():   # the seed's ClickHouse column, exactly
        assert (by_day[day]["sink_rows"], by_day[day]["sink_distinct"]) == (rows, distinct), day
    assert plan.stale_reasons() == {"deleted": 1_200, "ended_at_reset": 30_000, "day_moved": 500,
                                    "dev_user": 76_858, "source_type_changed": 17_000,
                                    "no_agent_assistance": 500, "customer_changed": 300}
    # Early January is far off in the seed (Jan 1 +6.4K, Jan 5 +13K), later days only a little.
    assert by_day[D(2026, 1, 8)]["stale"] > 5 * by_day[D(2026, 2, 3)]["stale"]


@pytest.mark.parametrize("scale", SCALES)
def test_usecase_shares(scale):
    plan = shape.plan(scale)
    source = sum(d.source for d in plan.days)
    want = {**shape.USECASES, "": shape.NO_USECASE}
    got = plan.expected_usecases()
    assert set(got) == set(want)
    for usecase, n in want.items():
        assert math.isclose(got[usecase], n * source / 1_510_418, rel_tol=1e-9), usecase
    for mix in plan.shares.values():
        assert math.isclose(sum(mix.values()), 1.0) and all(s > 0 for s in mix.values())
    assert plan.shares["stale"]["reservations-chat"] == pytest.approx(0.20)
    assert "chat" not in plan.shares["stale"] and "reservations-chat" not in plan.shares["changed"]
    # The sink's reservations-chat: the source's + changed + 20% of stale ≈ the seed's ~405K; chat ≈ 0.8x.
    stale = sum(plan.stale_reasons().values())
    changed_uc = sum(d.changed_usecase for d in plan.days)
    sink_rc = got["reservations-chat"] + changed_uc + 0.2 * stale
    assert math.isclose(sink_rc, 405_000 * scale, rel_tol=0.01)
    missing_chat = sum(d.missing_chat for d in plan.days)
    assert 0.75 < (got["chat"] - missing_chat) / got["chat"] < 0.9


@pytest.mark.parametrize("scale", SCALES)
def test_duplicates_concentrate_on_the_seed_days(scale):
    dups = shape.duplicate_counts(scale)
    heavy_days = [D(2026, 1, 20), D(2026, 1, 23), D(2026, 1, 29), D(2026, 2, 13), D(2026, 2, 14)]
    assert set(shape.DUPLICATES) == set(heavy_days)
    heavy = sum(dups[d] for d in heavy_days)
    assert heavy > 0.6 * sum(dups.values())
    assert math.isclose(sum(dups.values()), 3_191 * scale, rel_tol=0.1, abs_tol=2)
    light_max = max(n for d, n in dups.items() if d not in heavy_days)
    assert all(dups[d] > light_max for d in heavy_days)
    if scale == 1.0:
        assert sum(dups.values()) == 3_191
        assert {d: dups[d] for d in shape.SAMPLE_SINK} == {
            D(2026, 1, 1): 5, D(2026, 1, 5): 9, D(2026, 1, 17): 13, D(2026, 1, 20): 547, D(2026, 1, 29): 819,
            D(2026, 2, 10): 9, D(2026, 2, 13): 238}
        assert all(5 <= n <= 13 for d, n in dups.items() if d not in heavy_days)


def test_day_moved_lands_inside_the_range_never_on_a_sample_day():
    for day in shape.DAYS:
        to = shape.moved_to(day)
        assert to != day and shape.FIRST <= to <= shape.LAST and to not in shape.SAMPLE_DAYS
        assert 1 <= abs((to - day).days) <= 6


def test_arithmetic_helpers():
    assert shape.scaled(0, 0.01) == 0 and shape.scaled(3, 0.01) == 1 and shape.scaled(1_000, 0.01) == 10
    parts = shape.spread(17, {"a": 1, "b": 1, "c": 1})
    assert sum(parts.values()) == 17 and max(parts.values()) - min(parts.values()) <= 1
    assert shape.spread(0, {"a": 1}) == {"a": 0}
    seq = shape._interleave({"x": 6, "y": 3, "z": 1})
    assert len(seq) == 10 and seq.count("x") == 6 and seq.count("y") == 3 and seq.count("z") == 1
    for prefix in range(1, 11):   # every prefix within one of proportional
        assert abs(seq[:prefix].count("x") - 0.6 * prefix) <= 1
    for bad in (0, -1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError):
            shape.check_scale(bad)
    with pytest.raises(ValueError, match="too small"):
        shape.plan(0.00001)


def test_label_combinations():
    combos = label_combos()
    assert len(combos) == 1 + 13 + 78 + 286 and combos[0] == []
    assert all(c == sorted(c, key=str.encode) and len(set(c)) == len(c) <= 3 for c in combos)
    assert {"café", "o'brien", "a,b"} <= set(LABELS)
