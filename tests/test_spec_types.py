"""Every column type, for random specs and hostile rows, reads the same in Postgres and in chDB: after a
push sync and after a pull sync the per-day fingerprints of both sides are equal and the sink holds the
rows' values; one value changed in Postgres is then reported as exactly that key and that column, by the
push diff and by the pull diff. The source database's sessions default to another DateStyle, time zone and
float precision. (tests/cluster/test_spec_types_cluster.py: the same on the cluster.)"""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_cases import cases, mutations, push_only, subnormal
from spec_roundtrip import assert_one_change, check_spec, opened, sync_and_compare

from chsync.errors import RuntimeFailure

EXAMPLES = int(os.environ.get("CHSYNC_TYPE_EXAMPLES", "30"))   # a few seconds each: the suite has a budget
_db = itertools.count()


def test_random_specs_round_trip_through_push_and_pull(env):
    checked = []
    with env.pg() as conn:   # sessions that do not start as chsync needs them: it must set its own
        for setting in ("DateStyle = 'SQL, DMY'", "TimeZone = 'Asia/Kathmandu'", "extra_float_digits = 0"):
            conn.execute(f"ALTER DATABASE {env.db} SET {setting}")

    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(cases(), st.data())
    def check(case, data):
        database = f"pt{next(_db)}"
        spec_path = case.write_spec(env.tmp / "spec.toml", database)
        with opened(env, case, spec_path, env.sink_url) as (spec, source, sink):
            try:
                check_spec(source, spec)
                sink.init()
                sync_and_compare(source, sink, case, "push")
                sink.execute(f"TRUNCATE TABLE {sink.table}")
                if any(c.push_only for c in case.columns):   # not pullable: chsync pushes it
                    sync_and_compare(source, sink, case, "push")
                elif subnormal(case):
                    with pytest.raises(RuntimeFailure, match="Cannot parse PostgreSQL value .* as Float(64|32)"):
                        sync_and_compare(source, sink, case, "pull")
                    sync_and_compare(source, sink, case, "push")
                else:
                    sync_and_compare(source, sink, case, "pull")
                row, col, value = data.draw(mutations(case, 3))
                with env.pg() as conn:
                    case.update(conn, row, col, value)
                for mode in ("push",) if push_only(case) else ("push", "pull"):
                    assert_one_change(source, sink, case, row, col, mode)
            finally:
                sink.execute(f"DROP DATABASE IF EXISTS {database}")
        checked.append(len(case.rows))

    with env.sink():   # holds the process's chDB session: every example's sink shares it; closed at the end
        check()
    assert len(checked) >= EXAMPLES
