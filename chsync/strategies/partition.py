"""Replace one partition of the sink (a day, or a month) with its source set, never showing readers an
empty or doubled partition.

read source (+ fingerprint) → guards → stage → staging == source? → REPLACE PARTITION → live == source?
Nothing touches the live table before the source read succeeded and the guards passed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pyarrow as pa

from ..diff.compare import hash_sum
from ..errors import ChsyncError, Refused, RuntimeFailure
from ..faults import fault_point
from ..sink.base import ClickHouseSink
from ..source.postgres import PostgresSource
from ..source.sql import HASH

if TYPE_CHECKING:
    from ..pull.reader import Puller

# Rows of a pushed day held in memory at once: a larger day is staged in several inserts into one staging
# table, then checked and swapped as one partition. A seed day (at most ~60K rows) is one batch
# (bench/bench_batches.py measures the peak by batch size).
BATCH_ROWS = 200_000


@dataclasses.dataclass(frozen=True)
class Unit:
    """What one swap replaces: a day, or the month of a month-partitioned table."""
    first: dt.date
    last: dt.date

    @property
    def label(self) -> str:
        return self.first.isoformat() if self.first == self.last else f"{self.first:%Y-%m}"

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def month_of(day: dt.date) -> Unit:
    nxt = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return Unit(day.replace(day=1), nxt - dt.timedelta(days=1))


@dataclasses.dataclass
class Swapped:
    unit: Unit
    source_rows: int
    sink_rows_before: int
    sink_distinct_before: int
    rows_written: int = 0
    seconds: float = 0.0
    action: str = "swapped"          # swapped | dropped | unchanged-empty
    expected: tuple[int, int] = (0, 0)   # Postgres's (rows, hash sum) of the unit, which the live unit equals


def fingerprint_of(data: pa.Table) -> tuple[int, int]:
    """(rows, hash sum mod 2^64) of a source read, from its HASH column."""
    return data.num_rows, hash_sum(data.column(HASH))


def check_guards(what: str, source_rows: int, sink_distinct: int, min_ratio: float, allow_shrink: bool,
                 noun: str = "rows") -> None:
    if allow_shrink or sink_distinct == 0:
        return
    if source_rows == 0:
        raise Refused(f"{what}: the source has no {noun} but the sink holds {sink_distinct}: "
                      "refusing to empty the day (pass --allow-shrink if that is really right)")
    if source_rows < min_ratio * sink_distinct:
        raise Refused(f"{what}: the source has {source_rows} {noun}, less than {min_ratio:.0%} of the "
                      f"sink's {sink_distinct}: refusing to shrink the day (pass --allow-shrink if intended)")


def _noop(state: str, rows: int = 0, detail: str = "") -> None:
    pass


def swap_unit(source: PostgresSource, sink: ClickHouseSink, unit: Unit, *, allow_shrink: bool = False,
              on_state: Callable[..., None] = _noop, puller: Puller | None = None,
              on_read: Callable[[pa.Table], None] | None = None, batch_rows: int = BATCH_ROWS) -> Swapped:
    """`on_state(state, rows[, detail])` is told "staged", "verified", "swapping" (after each node, where the
    swap runs node by node) and "swapped" as they happen; the unit is checked when this returns. With a
    `puller` the sink copies the unit from Postgres itself (pull mode), and the copy must match Postgres's
    own fingerprint of it. Pushed, the unit is read and staged `batch_rows` rows at a time, so memory holds a
    batch, not a day; `on_read(rows)` is given the read's keys and row hashes before the sink changes.

    Staging touches nothing readers see, so the guards run once the source set is counted: after the
    staging, before the swap."""
    started = time.monotonic()
    caps = sink.capabilities
    first, last = unit.first, unit.last
    fault_point("read", first)
    sink.check_reachable()
    before = _totals(sink, first, last)
    staged = False
    try:
        if puller is None:
            expected, staged = _stage_pushed(source, sink, unit, caps.time_precision, batch_rows, on_read)
        else:
            days = source.day_fingerprints(first, last, caps.time_precision)
            expected = (sum(n for n, _ in days.values()), sum(h for _, h in days.values()) % (1 << 64))
        source_rows = expected[0]
        result = Swapped(unit, source_rows, before[0], before[1])
        check_guards(unit.label, source_rows, before[1], source.spec.min_shrink_ratio, allow_shrink,
                     source.spec.noun[1])
        if source_rows == 0:
            if before[0]:
                sink.drop_day(first)
                result.action = "dropped"
            else:
                result.action = "unchanged-empty"
            on_state("swapped", 0)
        else:
            if puller is not None:
                sink.check_reachable()
                puller.stage_unit(unit, sink)
                staged = True
            on_state("staged", source_rows)
            _prove_staging(source, sink, unit, expected, pulled=puller is not None)
            on_state("verified", source_rows)
            nodes = [s.node for s in sink.swap_statements(first) if s.node]
            sink.swap_in(first, lambda node: on_state(
                "swapping", source_rows,
                f"swapped on {node[0]}:{node[1]} ({nodes.index(node) + 1} of {len(nodes)} nodes)"))
            on_state("swapped", source_rows)
            result.rows_written = source_rows
        check_live(sink, unit, expected)
    except BaseException:
        if staged:   # the error that ended the day is the one to report, not a cleanup's on a node that is down
            with contextlib.suppress(ChsyncError):
                sink.drop_stage(first)
        raise
    if staged:
        sink.drop_stage(first)
    result.expected = expected
    result.seconds = time.monotonic() - started
    return result


def _stage_pushed(source: PostgresSource, sink: ClickHouseSink, unit: Unit, precision: int, batch_rows: int,
                  on_read: Callable[[pa.Table], None] | None) -> tuple[tuple[int, int], bool]:
    """Read the unit from Postgres batch by batch into one fresh staging table; returns (its fingerprint as
    Postgres computed it, whether a staging table was made). No rows: no staging."""
    rows, hashes, staged = 0, 0, False
    read: list[pa.Table] = []

    def restart() -> None:
        """A hot standby cancelled the read part-way (a recovery conflict): it starts over in a new snapshot,
        so what was staged from the old one goes."""
        nonlocal rows, hashes, staged
        if staged:
            sink.drop_stage(unit.first)
        rows, hashes, staged = 0, 0, False
        read.clear()

    with contextlib.closing(source.read_range_batches(unit.first, unit.last, precision, batch_rows,
                                                      on_restart=restart)) as batches:
        for batch in batches:
            if not staged:
                sink.create_stage(unit.first)
                staged = True
            sink.insert_stage(unit.first, batch.drop_columns([HASH]))
            fault_point("batch", unit.first)
            rows += batch.num_rows
            hashes = (hashes + hash_sum(batch.column(HASH))) % (1 << 64)
            if on_read is not None:
                read.append(batch.select([source.spec.key, HASH]))
    if on_read is not None:
        on_read(pa.concat_tables(read) if read else pa.table({source.spec.key: [], HASH: pa.array([], pa.int64())}))
    return (rows, hashes), staged


def _prove_staging(source: PostgresSource, sink: ClickHouseSink, unit: Unit, expected: tuple[int, int], *,
                   pulled: bool) -> None:
    """The staging the swap will take equals Postgres's fingerprint of the unit, else nothing is swapped."""
    rows, distinct, staged = sink.staged_fingerprint(sink.stage_read_table(unit.first), unit.first, unit.last)
    if (rows, staged) == expected and distinct == rows:
        return
    if pulled:   # a NULL the sink cannot hold is named, as a push read names it
        source.refuse_nulls(unit.first, unit.last)
    source.refuse_unholdable(unit.first, unit.last, sink.capabilities.time_precision)
    what = "day" if unit.first == unit.last else "month"
    why = ("the sink's own reading of Postgres does not match Postgres's fingerprint: the Postgres session time "
           "zone of the sink's client is not UTC, a row changed while it was copied, or the spec's SQL means "
           "something else in ClickHouse" if pulled else "the rows changed on the way")
    raise RuntimeFailure(f"{unit.label}: staging holds {rows:,} rows (fingerprint {staged:x}) but the source has "
                         f"{expected[0]:,} (fingerprint {expected[1]:x}): {why}; live {what} left untouched: "
                         "re-run it, or use --mode push")


def _totals(sink: ClickHouseSink, first: dt.date, last: dt.date) -> tuple[int, int]:
    stats = sink.day_rows(first, last)
    if not stats:
        return 0, 0
    totals = sink.range_totals(first, last)
    return totals["rows"], totals["distinct"]


def check_live(sink: ClickHouseSink, unit: Unit, expected: tuple[int, int]) -> None:
    sink.prove_replicas(unit.first, unit.last)   # then a read through a Distributed table sees one answer
    live_rows, live_distinct, live_sum = sink.table_fingerprint(sink.read_table, unit.first, unit.last)
    if (live_rows, live_sum) != expected or live_distinct != live_rows:
        raise RuntimeFailure(f"{unit.label}: the sink holds {live_rows:,} rows ({live_distinct:,} distinct) where "
                             f"the source has {expected[0]:,}, or their fingerprints differ: re-run the day")
