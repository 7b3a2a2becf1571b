"""The row-level diff over a range: per-day fingerprints on both sides, drill-down by (key, hash) only into
the days that differ, then every difference explained (stale reasons from Postgres, changed columns).

Push: Postgres hashes its source set and ClickHouse its rows, with the canonical fingerprint both agree
on. Pull: the sink (or an in-process chDB mirror of a server sink) reads Postgres itself, hashes both
sides with its own hash and joins them; only the differing keys come back.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from ..dates import day_range
from ..errors import RuntimeFailure
from ..progress import StepProgress
from .compare import HASH, KEY, agree, changed_columns, compare_day
from .result import DayDiff, RangeDiff

if TYPE_CHECKING:
    from ..pull.insink import SinkSideDiff
    from ..pull.mirror import Mirror
    from ..pull.reader import Puller
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource

SinkT = TypeVar("SinkT")
SourceT = TypeVar("SourceT")

# The in-sink diff holds a window's source rows and sink rows in memory. Measured on the seed's 1.5M rows
# with every row changed: one window of 2M rows peaked at 2.1 GB; windows of 250K rows at 0.7 GB; of
# 150K rows at 0.57 GB, for about 0.5 s more (each window reads Postgres once more).
DIFF_WINDOW_ROWS = int(os.environ.get("CHSYNC_DIFF_WINDOW_ROWS", "150000"))
# Up to this many sampled keys are named in the SQL that counts changed columns; past it every key is.
MAX_LISTED_SAMPLES = 10_000


def diff_with_mode(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date, mode: str = "auto", *,
                   explain: bool = True, keep: int | None = None,
                   breakdown: bool = False) -> tuple[RangeDiff, str, str]:
    """The diff with the source side hashed by Postgres (push) or inside the sink (pull); returns it
    with the mode that ran and why. `keep`: the caller needs only the counts and that many keys per
    class and day (the in-sink diff then holds the keys of a window or two, however many rows differ).
    `breakdown`: a push diff counts the source's breakdown in its pass (RangeDiff.source_breakdown)."""
    from .transport import diff_transport
    transport = diff_transport(source, sink, mode)
    if transport.mode == "pull":   # (which gives memory back after each window)
        with transport.open() as (puller, mirror):
            result = diff_in_sink(source, puller, first, last, explain=explain, mirror=mirror, keep=keep)
    else:
        result = diff_range(source, sink, first, last, explain=explain, breakdown=breakdown)
        sink.release_memory()   # a process that goes on (the demo) starts its next step from what it holds
    return result, transport.mode, transport.why


def diff_range(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date, *, explain: bool = True,
               breakdown: bool = False) -> RangeDiff:
    """Push: compare (rows, distinct, hash sum) per day; drill into a day by (key, hash) only when they
    differ. `breakdown`: count the breakdown on both sides too, Postgres's in its fingerprint's pass."""
    precision = sink.capabilities.time_precision
    result = RangeDiff(first, last, source.spec.reasons)
    days = day_range(first, last)
    with StepProgress(len(days) + (1 if explain else 0), "compare") as progress:
        if breakdown:
            (result.source_days, result.sink_days,
             result.source_breakdown) = fingerprints_and_breakdown(source, sink, first, last)
        else:
            result.source_days, result.sink_days = day_fingerprints(source, sink, first, last)
        differing = set(_differing(days, result.source_days, result.sink_days))
        for day in days:
            if day in differing:
                result.days[day] = compare_day(source.day_hashes(day, precision), sink.day_hashes(day))
            progress.advance(f"{day} ({len(result.days)} days differ so far)")
        if explain:
            _explain(source, sink, result, precision)
            progress.advance(f"{len(result.days)} differing days explained")
    return result


def _at_once(sink: ClickHouseSink, sink_side: Callable[[ClickHouseSink], SinkT],
             source_side: Callable[[], SourceT]) -> tuple[SourceT, SinkT]:
    """(source_side(), sink_side(twin)): each database works on its own side at the same time, the sink's
    in a thread with its own client."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool, contextlib.closing(sink.clone()) as twin:
        sink_result = pool.submit(sink_side, twin)
        return source_side(), sink_result.result()


def day_fingerprints(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date) -> tuple[dict, dict]:
    """(source, sink) per-day fingerprints of the range, both databases hashing their own side at once."""
    precision = sink.capabilities.time_precision
    return _at_once(sink, lambda twin: twin.day_stats(first, last),
                    lambda: source.day_fingerprints(first, last, precision))


def fingerprints_and_breakdown(source: PostgresSource, sink: ClickHouseSink, first: dt.date,
                               last: dt.date) -> tuple[dict, dict, dict]:
    """`day_fingerprints`, and the source's breakdown counted in the same pass. The sink's breakdown is
    counted later, after the range totals (`build_scope`), which tell whether it must group by key; beside
    Postgres's pass it would take the cores Postgres's parallel workers need."""
    precision = sink.capabilities.time_precision
    (source_days, source_counts), sink_days = _at_once(
        sink, lambda twin: twin.day_stats(first, last),
        lambda: source.day_fingerprints_and_breakdown(first, last, precision))
    return source_days, sink_days, source_counts


def differing_days(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date) -> list[dt.date]:
    """The days of the range whose fingerprints differ, or on which a shard's replicas differ from each other
    (what the Distributed table reads depends on which replica it picks): no row leaves either database."""
    return compare_days(source, sink, first, last)[0]


def compare_days(source: PostgresSource, sink: ClickHouseSink, first: dt.date,
                 last: dt.date) -> tuple[list[dt.date], dict[dt.date, tuple[int, int]]]:
    """(`differing_days`, Postgres's (rows, hash sum) of every other day: the days found equal)."""
    days = day_range(first, last)
    source_days, sink_days = day_fingerprints(source, sink, first, last)
    differ = set(_differing(days, source_days, sink_days))
    differ |= {dt.date.fromisoformat(r["day"]) for r in sink.replica_drift(first, last)}
    return sorted(differ), {day: source_days.get(day, (0, 0)) for day in days if day not in differ}


def _differing(days: list[dt.date], source_days: dict, sink_days: dict) -> list[dt.date]:
    return [day for day in days if not agree(source_days.get(day, (0, 0)), sink_days.get(day))]


def drill_day(source: PostgresSource, sink: ClickHouseSink, day: dt.date, read: pa.Table | None = None) -> DayDiff:
    """One day's differences by (key, hash), explained: `diff_range`'s drill-down of a single day.
    `read`: the day's source set as a push read gave it (its rows and HASH), when one was just taken:
    Postgres then does not hash the day a second time."""
    precision = sink.capabilities.time_precision
    result = RangeDiff(day, day, source.spec.reasons)
    if read is None:
        hashes = source.day_hashes(day, precision)
    else:   # the key as text, as `day_hashes` reads it (uuid and text already are; integers print alike)
        hashes = pa.table({KEY: pc.cast(read.column(source.spec.key), pa.string()), HASH: read.column(HASH)})
    result.days[day] = compare_day(hashes, sink.day_hashes(day))
    _explain(source, sink, result, precision)
    return result.days[day]


def diff_in_sink(source: PostgresSource, puller: Puller, first: dt.date, last: dt.date, *, explain: bool = True,
                 mirror: Mirror | None = None, keep: int | None = None) -> RangeDiff:
    """The same diff with the source side read, hashed and joined inside the sink (pull mode): only the
    differing keys come back. Same classes and reasons as `diff_range`. Window by window (about
    DIFF_WINDOW_ROWS source rows each), so memory is bounded by a window, not the range; Postgres explains
    one window's stale rows while the sink reads the next. `mirror`: the puller's sink is a chDB copy of a
    server sink, which takes in the server's rows of each window first."""
    from ..pull.insink import SinkSideDiff
    side = SinkSideDiff(puller)
    result = RangeDiff(first, last, source.spec.reasons)
    puller.plan([(d, d) for d in day_range(first, last)], rows_per_window=DIFF_WINDOW_ROWS)
    windows = puller.windows()
    try:
        with StepProgress(len(windows), "compare in the sink") as progress, \
                concurrent.futures.ThreadPoolExecutor(1) as postgres:
            explained: list[tuple[concurrent.futures.Future | None, list[dt.date]]] = []
            for lo, hi in windows:
                counted = postgres.submit(source.day_counts, lo, hi)
                if mirror is not None:
                    mirror.hold(lo, hi)
                side.load(lo, hi, once=len(windows) == 1)
                _same_source_set(side.source_counts(), counted.result(), lo, hi)
                result.source_days.update(side.day_fingerprints())
                result.sink_days.update(side.sink_day_stats())
                differing = [day for day in day_range(lo, hi)
                             if not agree(result.source_days.get(day, (0, 0)), result.sink_days.get(day))]
                result.days.update({day: DayDiff() for day in differing})
                keys = side.differing_keys(differing) if differing else pa.table({})
                stale = None
                if keys.num_rows:  # (an empty chDB result has no columns at all)
                    pairs = _stale_pairs(keys)
                    if explain and pairs[0]:  # first, so that Postgres works while the sink classifies
                        stale = postgres.submit(_explain_stale, source, result, pairs)
                    _classify(result, keys)
                    if explain:
                        _explain_changed(result, side, differing, keep)
                if keep is not None:   # the window before this one is explained by now, or nearly
                    _compact(result, explained, keep)
                explained.append((stale, differing))
                if keep is not None and stale is None:   # nothing of this one is left to explain
                    _compact(result, explained, keep)
                puller.sink.release_memory()
                progress.advance(f"{lo} – {hi}: {len(differing)} days differ", 1)
            _compact(result, explained, keep)
    finally:
        side.close()
    return result


def _explain_changed(result: RangeDiff, side: SinkSideDiff, days: list[dt.date], keep: int | None) -> None:
    """The changed columns of the window's changed rows, counted in the sink; listed per key for every
    key, or with `keep` only for the keys the compacted days will keep."""
    samples = None if keep is None else [k for day in days for k in result.days[day].changed[:keep]]
    if samples is not None and len(samples) > MAX_LISTED_SAMPLES:   # as cheap to list them all
        samples = None
    for day, columns, rows, ids in side.changed_columns(samples):
        result.days[day].changed_columns.update(dict.fromkeys(ids, columns))
        if samples is not None:
            result.days[day].count_columns(columns, rows)


def _compact(result: RangeDiff, explained: list, keep: int | None) -> None:
    """Wait for the windows' explanations in `explained` (emptying it); with `keep`, compact their days."""
    while explained:
        stale, days = explained.pop(0)
        if stale is not None:
            stale.result()
        if keep is not None:
            for day in days:
                result.days[day].compact(keep)


def _same_source_set(pulled: dict[dt.date, int], counted: dict[dt.date, int], lo: dt.date, hi: dt.date) -> None:
    """The rows the sink pulled per day are the rows Postgres counts with its own SQL: a spec whose SQL
    means something else in ClickHouse is caught here, before any conclusion is drawn from it."""
    for day in day_range(lo, hi):
        if pulled.get(day, 0) != counted.get(day, 0):
            raise RuntimeFailure(f"{day}: the sink's reading of the source set has {pulled.get(day, 0):,} rows "
                                 f"where Postgres counts {counted.get(day, 0):,}: the spec's SQL does not mean "
                                 "the same in ClickHouse; use --mode push")


def _classify(result: RangeDiff, keys: pa.Table) -> None:
    """`SinkSideDiff.differing_keys` (sorted by day and key) into the classes, vectorised: a window can
    hold millions of differences."""
    in_source, in_sink = keys.column("in_source"), keys.column("in_sink")
    classes = {
        "stale": pc.invert(in_source),
        "missing": pc.and_(in_source, pc.invert(in_sink)),
        "changed": pc.and_(pc.and_(in_source, in_sink), pc.invert(keys.column("hash_found"))),
        "duplicates": keys.column("several"),
    }
    for name, mask in classes.items():
        picked = keys.filter(mask)
        for day, ids in _split_by_day(picked.column("day"), picked.column("id")):
            getattr(result.days[day], name).extend(ids)


def _split_by_day(days: pa.ChunkedArray, ids: pa.ChunkedArray) -> Iterator[tuple[dt.date, list]]:
    """(day, [ids]) runs of a table sorted by day."""
    start = 0
    for entry in pc.value_counts(days).to_pylist():  # in order of first appearance, so in day order
        n = entry["counts"]
        yield entry["values"], ids.slice(start, n).to_pylist()
        start += n


def _stale_pairs(keys: pa.Table) -> tuple[list[str], list[str]]:
    """(days, keys) of the stale rows among `SinkSideDiff.differing_keys`, days as ISO text."""
    stale = keys.filter(pc.invert(keys.column("in_source")))
    return pc.cast(stale.column("day"), pa.string()).to_pylist(), stale.column("id").to_pylist()


def _explain_stale(source: PostgresSource, result: RangeDiff, stale: tuple[list[str], list[str]] | None = None) -> None:
    """The reason of every stale (day, key) (by default, of every stale row found), asked of Postgres."""
    if stale is None:
        pairs = [(day.isoformat(), k) for day, d in result.days.items() for k in d.stale]
        stale = [p[0] for p in pairs], [p[1] for p in pairs]
    for day, reason, keys in source.stale_reasons(*stale):
        result.days[day].stale_reasons.update(dict.fromkeys(keys, reason))


def _explain(source: PostgresSource, sink: ClickHouseSink, result: RangeDiff, precision: int) -> None:
    _explain_stale(source, result)
    key, compared = source.spec.key, source.spec.compared
    for day, d in result.days.items():
        if not d.changed:
            continue
        src_rows = {str(r[key]): r for r in source.read_keys(day, d.changed, precision).to_pylist()}
        sink_rows: dict[str, list[dict]] = defaultdict(list)
        for r in sink.read_keys(day, d.changed).to_pylist():
            sink_rows[str(r[key])].append(r)
        for k in d.changed:
            if k in src_rows:
                d.changed_columns[k] = changed_columns(src_rows[k], sink_rows[k], compared)

