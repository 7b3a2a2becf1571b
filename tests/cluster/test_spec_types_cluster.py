"""Every column type, for random specs and hostile rows, on the 3-shard ClickHouse 18.16 cluster: after a
push sync (18.16 cannot read Postgres, so there is no pull) the per-day fingerprints of Postgres and the
cluster are equal and the shards hold the rows' values; one value changed in Postgres is then reported as
exactly that key and that column. A few examples only: tests/test_spec_types.py runs many on chDB."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_cases import cases, mutations
from spec_roundtrip import assert_one_change, check_spec, opened, sync_and_compare

pytestmark = pytest.mark.cluster
_db = itertools.count()


def test_random_specs_round_trip_on_the_cluster(env, replica_cluster):
    """On 3 shards x 2 replicas: every write proven on every replica, every type's fingerprint equal."""
    checked = []

    @settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
    @given(cases(max_rows=4, max_columns=5), st.data())
    def check(case, data):
        database = f"chsync_types_{os.getpid()}_{next(_db)}"
        spec_path = case.write_spec(env.tmp / "spec.toml", database)
        url = replica_cluster.url(database, "replicated", extra="replicated=1")
        with opened(env, case, spec_path, url) as (spec, source, sink):
            try:
                check_spec(source, spec)
                sink.init()
                sync_and_compare(source, sink, case, "push")
                row, col, value = data.draw(mutations(case, sink.capabilities.time_precision))
                with env.pg() as conn:
                    case.update(conn, row, col, value)
                assert_one_change(source, sink, case, row, col, "push")
            finally:
                sink.execute(f"DROP DATABASE IF EXISTS {database} ON CLUSTER replicated")
                sink.close()
        checked.append(len(case.rows))

    check()
    assert len(checked) >= 3
