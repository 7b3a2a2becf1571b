"""Which of the spec's filter reaches Postgres in pull mode: transpile.py alone, no database."""

from __future__ import annotations

from chsync.pull.transpile import PgLink, PulledSource, _conjuncts
from chsync.spec.load import load_specs

LINK = PgLink("h", 1, "d", "u", "")


def test_a_conjunction_is_split_into_its_terms_and_nothing_else_is():
    assert _conjuncts("(a.x = 1 AND (b.y = 2 AND a.z > 3))") == ["a.x = 1", "b.y = 2", "a.z > 3"]
    assert _conjuncts("(a.x = 1) AND (b.y = 2 OR a.q)") == ["a.x = 1", "b.y = 2 OR a.q"]
    for whole in ("a.x = 1 OR b.y = 2", "NOT (a.x AND b.y)", "a.x = 1"):
        assert _conjuncts(whole) == [whole]


def test_the_seed_scope_filters_the_base_table_in_postgres_and_the_profile_after_the_join():
    pulled = PulledSource(load_specs(None)[0], LINK, 3)
    # the seed's scope is one predicate over two tables: its base-table term alone lets Postgres use the
    # (customer_id, ended_at) index instead of scanning every conversation for each window
    assert "(c.customer_id = 'alaska-air')" in pulled.pushed
    assert "(p.customer_id = 'alaska-air')" in pulled.outer
    assert not any("c.customer_id" in p for p in pulled.outer)
    assert all(" p." not in p and "(p." not in p for p in pulled.pushed)
