"""The seed-shaped generator: shape arithmetic, and the generated data equals its ground truth when
counted with plain SQL on both sides — and chsync's scope agrees with both."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from builders import FILTER_SQL

from chsync.demo import shape
from chsync.demo.generate import generate


@pytest.mark.parametrize("scale", [1.0, 0.1, 0.01])
def test_day_counts_follow_the_seed(scale):
    counts = shape.day_counts(scale)
    assert len(counts) == 49 and sum(counts.values()) == round(shape.TOTAL * scale)
    if scale == 1.0:
        assert all(counts[d] == n for d, n in shape.SAMPLE_DAYS.items())
    saturday, tuesday = counts[dt.date(2026, 1, 10)], counts[dt.date(2026, 1, 13)]
    assert saturday < tuesday
    dups = shape.duplicate_counts(scale)
    heavy = sum(dups[d] for d in shape.DUPLICATES)
    assert heavy > sum(dups.values()) / 2, "duplicates concentrate on the seed's days"


def test_spread_is_exact():
    parts = shape.spread(17, {"a": 1, "b": 1, "c": 1})
    assert sum(parts.values()) == 17 and max(parts.values()) - min(parts.values()) <= 1


def test_generated_data_equals_its_ground_truth_and_scope_agrees(env):
    with env.sink() as sink:
        truth = generate(env.source, sink, scale=0.01, seed=7)
        sink_by_day = {}
        for day, cid, n in sink.rows(f"SELECT toString(toDate(ended_at)), toString(conversation_id), count() "
                                     f"FROM {sink.table} GROUP BY 1, 2"):
            sink_by_day.setdefault(day, {})[cid] = n
    with env.pg() as conn:
        for day in shape.DAYS:
            key = day.isoformat()
            src = {r[0] for r in conn.execute(FILTER_SQL, {"day": key}).fetchall()}
            snk = sink_by_day.get(key, {})
            want = truth["days"][key]
            assert len(src) == want["source"], key
            assert sum(snk.values()) == want["sink_rows"] and len(snk) == want["sink_distinct"], key
            assert sum(1 for n in snk.values() if n > 1) == want["duplicates"], key
            assert len(src - set(snk)) == want["missing"] and len(set(snk) - src) == want["stale"], key

    scope = env.cli_json("scope", "--from", "2026-01-01", "--to", "2026-02-18", expect=0)
    for row in scope["days"]:
        want = truth["days"][row["day"]]
        assert {k: row[k] for k in want} == want, row["day"]
    assert scope["stale_reasons"] == truth["stale_reasons"]
    assert scope["changed_columns"] == truth["changed_columns"]
    assert {u["value"]: u["source"] for u in scope["breakdown"]["values"]} == truth["breakdown"]["source"]
    assert {u["value"]: u["sink"] for u in scope["breakdown"]["values"] if u["sink"]} == truth["breakdown"]["sink"]
    assert scope["source"]["units_scanned"] == 88 and scope["source"]["units_matched"] == 1
    assert all(v > 0 for v in truth["stale_reasons"].values())


def test_same_seed_same_data(env):
    with env.sink() as sink:
        first = generate(env.source, sink, scale=0.005, seed=11)
        ids_first = Counter(r[0] for r in sink.rows(f"SELECT toString(conversation_id) FROM {sink.table}"))
        second = generate(env.source, sink, scale=0.005, seed=11)
        ids_second = Counter(r[0] for r in sink.rows(f"SELECT toString(conversation_id) FROM {sink.table}"))
    assert first == second and ids_first == ids_second


def test_generate_refuses_to_replace_a_real_source(env):
    from builders import World
    with env.pg() as conn:
        World(conn).add(dt.date(2026, 1, 20), n=3)
    done = env.cli("generate", "--scale", "0.001")
    assert done.returncode == 3 and "did not generate" in done.stderr
    with env.pg() as conn:
        assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 3
