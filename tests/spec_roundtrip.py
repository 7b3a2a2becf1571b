"""One random spec case through chsync, in process, as the CLI runs it (spec check, init, sync, diff), on
any sink: the checks the property tests of every column type share."""

from __future__ import annotations

import contextlib
import datetime as dt

from spec_cases import DAYS, Case, Col, from_sink, stored

from chsync.apply.sync import SyncRequest, run_sync
from chsync.diff.run import diff_with_mode
from chsync.sink import open_sink
from chsync.source import open_source
from chsync.source.catalog import require
from chsync.spec import load_specs

FIRST, LAST = DAYS


def fingerprints(source, sink, precision: int) -> tuple[dict, dict]:
    """({day: (rows, hash sum)} of Postgres, the same of the sink)."""
    pg = source.day_fingerprints(FIRST, LAST, precision)
    ch = {d: (s["rows"], s["hash_sum"]) for d, s in sink.day_stats(FIRST, LAST).items()}
    return pg, ch


def sink_rows(sink, case: Case) -> dict[str, dict]:
    """{key: {column: value}} of every row the sink holds, in `stored`'s form."""
    names = [c.name for c in case.columns]
    read = [f"hex({c.name})" if c.kind == "bytea" else c.name for c in case.columns]   # bytes, maybe not UTF-8
    found = {}
    for values in sink.rows(f"SELECT {', '.join(read)} FROM {sink.read_table}"):
        row = dict(zip(names, values))
        key = str(from_sink(case.key, row["k"]))
        assert key not in found, f"key {key} twice in the sink"
        found[key] = {c.name: from_sink(c, row[c.name]) for c in case.columns if c is not case.key}
    return found


def expected_rows(case: Case, precision: int) -> dict[str, dict]:
    return {str(r["k"]): {c.name: stored(c, r[c.name], precision) for c in case.columns if c is not case.key}
            for r in case.rows}


def per_day(case: Case) -> dict[dt.date, int]:
    counts: dict[dt.date, int] = {}
    for row in case.rows:
        counts[case.day_of(row)] = counts.get(case.day_of(row), 0) + 1
    return counts


@contextlib.contextmanager
def opened(env, case: Case, spec_path: str, sink_url: str):
    """(spec, source, sink) of the case; the source's tables created from the case."""
    spec = load_specs(spec_path)[0]
    with env.pg() as conn:
        case.create(conn)
    source = open_source(env.source, spec)
    sink = open_sink(sink_url, spec)
    try:
        yield spec, source, sink
    finally:
        source.close()


def sync_and_compare(source, sink, case: Case, mode: str) -> None:
    """A sync of both days in `mode`, then Postgres's and the sink's fingerprints are equal per day and the
    sink holds exactly the rows of the case."""
    done = run_sync(source, sink, SyncRequest(days=[FIRST, LAST], mode=mode, allow_shrink=True))
    assert done.mode == mode, done.mode_why
    precision = sink.capabilities.time_precision
    pg, ch = fingerprints(source, sink, precision)
    assert pg == ch, f"{mode}: fingerprints differ:\n{case.spec_toml('x')}\n{case.rows}"
    assert {d: n for d, (n, _) in pg.items()} == per_day(case)
    assert sink_rows(sink, case) == expected_rows(case, precision), f"{mode}: the sink holds other values"


def assert_one_change(source, sink, case: Case, row: dict, col: Col, mode: str) -> dict:
    """The diff (as `chsync diff --json` prints it) names exactly the key and the column that changed."""
    result, ran, why = diff_with_mode(source, sink, FIRST, LAST, mode)
    assert ran == mode, why
    doc = result.to_json(None, 10)
    assert doc["classes"] == {"missing": 0, "stale": 0, "changed": 1, "duplicates": 0}, doc
    assert doc["samples"]["changed"] == [{"id": str(row["k"]), "columns": [col.name]}], doc["samples"]
    assert doc["changed_columns"] == {col.name: 1}
    assert [d["day"] for d in doc["days"]] == [case.day_of(row).isoformat()]
    return doc


def check_spec(source, spec) -> None:
    require(source, spec)    # `spec check`'s errors (warnings about NULLs allowed are expected)
