"""Replace one day of the sink with the day's source set, never showing readers an empty or doubled day.

read source (+ fingerprints) → guards → stage → staging == source? → REPLACE PARTITION → live == source?
Nothing touches the live table before the source read succeeded and the guards passed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pyarrow as pa

from ..errors import Refused, RuntimeFailure
from ..sink.base import MOD64, ClickHouseSink
from ..sink.pull import Puller
from ..source.postgres import PostgresSource
from .faults import fault_point


@dataclasses.dataclass
class DaySwap:
    day: dt.date
    source_rows: int
    sink_rows_before: int
    sink_distinct_before: int
    rows_written: int = 0
    seconds: float = 0.0
    action: str = "swapped"          # swapped | dropped | unchanged-empty


def fingerprint_of(data: pa.Table) -> tuple[int, int]:
    """(rows, hash sum mod 2^64) of a source read, from its `h` column."""
    return data.num_rows, sum(data.column("h").to_pylist()) % MOD64


def check_guards(day: dt.date, source_rows: int, sink_distinct: int, min_ratio: float, allow_shrink: bool) -> None:
    if allow_shrink or sink_distinct == 0:
        return
    if source_rows == 0:
        raise Refused(f"{day}: the source has no conversations but the sink holds {sink_distinct}: "
                      "refusing to empty the day (pass --allow-shrink if that is really right)")
    if source_rows < min_ratio * sink_distinct:
        raise Refused(f"{day}: the source has {source_rows} conversations, less than {min_ratio:.0%} of the "
                      f"sink's {sink_distinct}: refusing to shrink the day (pass --allow-shrink if intended)")


def _noop(state: str, rows: int = 0) -> None:
    pass


def swap_day(source: PostgresSource, sink: ClickHouseSink, day: dt.date, *, allow_shrink: bool = False,
             on_state=_noop, puller: Puller | None = None) -> DaySwap:
    """`on_state(state, rows)` is told "staged", "verified" and "swapped" as they happen; the day is
    checked when this returns. With a `puller` the sink copies the day from Postgres itself (pull mode)."""
    started = time.monotonic()
    caps = sink.capabilities
    fault_point("read", day)
    if puller is None:
        data = source.read_day(day, caps.time_precision)
        source_rows, expected = data.num_rows, fingerprint_of(data)
    else:
        data, summary = None, source.day_summary(day, caps.time_precision)
        source_rows, expected = summary[0], None
    before = sink.day_stats(day, day).get(day, {"rows": 0, "distinct": 0})
    result = DaySwap(day, source_rows, before["rows"], before["distinct"])
    check_guards(day, source_rows, before["distinct"], source.spec.min_shrink_ratio, allow_shrink)
    sink.check_reachable()

    if source_rows == 0:
        if before["rows"]:
            sink.drop_day(day)
            result.action = "dropped"
        else:
            result.action = "unchanged-empty"
        expected = (0, 0)
        on_state("swapped", 0)
    else:
        stage = sink.stage_day(day, data.drop_columns(["h"])) if puller is None else puller.stage_day(day, sink)
        on_state("staged", source_rows)
        try:
            rows, distinct, hash_sum = sink.table_fingerprint(stage, day)
            if puller is not None:
                check_pulled(sink, stage, day, summary)
                expected = (rows, hash_sum)
            if (rows, hash_sum) != expected or distinct != rows:
                raise RuntimeFailure(f"{day}: staging holds {rows} rows (fingerprint {hash_sum:x}) but the source "
                                     f"read {expected[0]} (fingerprint {expected[1]:x}); live day left untouched")
            on_state("verified", rows)
            sink.swap_in(day)
            on_state("swapped", rows)
        finally:
            sink.drop_stage(day)
        result.rows_written = source_rows

    check_live(sink, day, expected)
    result.seconds = time.monotonic() - started
    return result


def check_pulled(sink: ClickHouseSink, stage: str, day: dt.date, summary: tuple) -> None:
    """A day the sink pulled must match Postgres's own count and time sums: catches the time-zone trap
    (timestamptz read in a non-UTC session shifts every time) and rows lost on the way."""
    got = sink.time_summary(stage, day)
    if got != tuple(summary):
        raise RuntimeFailure(f"{day}: the sink pulled {got[0]:,} rows whose times do not match Postgres's "
                             f"{summary[0]:,}: the Postgres session time zone of the sink's client is not UTC, "
                             "or the day changed in Postgres while it was copied; live day left untouched: "
                             "re-run the day, or use --mode push")


def check_live(sink: ClickHouseSink, day: dt.date, expected: tuple[int, int]) -> None:
    live_rows, live_distinct, live_sum = sink.table_fingerprint(sink.read_table, day)
    if (live_rows, live_sum) != expected or live_distinct != live_rows:
        raise RuntimeFailure(f"{day}: the sink holds {live_rows:,} rows ({live_distinct:,} distinct) where the "
                             f"source has {expected[0]:,}, or their fingerprints differ: re-run the day")
