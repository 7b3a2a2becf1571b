"""Row-level diff: per-day fingerprints on both sides, drill-down by (id, hash) only where they differ,
then every difference classified (DESIGN §4). The algorithm is here; the SQL is in source/ and sink/.

- missing: in the source set, not in the sink
- stale: in the sink, not in the source set — with the first reason that applies
- changed: in both, and no sink row of the id carries the source's row hash — with the columns
- duplicate: more than one sink row for the id
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import datetime as dt
from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.compute as pc

from .dates import day_range
from .progress import StepProgress
from .spec import COLUMNS, KEY_COLUMN

# The in-sink diff holds a window's source rows in memory (about 0.5 KB each with the join): 2M rows
# keep the seed's whole range in one window, read in one pass; bigger ranges go window by window.
DIFF_WINDOW_ROWS = int(os.environ.get("CHSYNC_DIFF_WINDOW_ROWS", "2000000"))
STALE_REASONS = ("deleted", "ended_at_reset", "day_moved", "dev_user", "source_type_changed",
                 "no_agent_assistance", "customer_changed")
COMPARED = [c for c in COLUMNS if c != KEY_COLUMN]


@dataclasses.dataclass
class DayDiff:
    missing: list[str]
    stale: list[str]
    changed: list[str]
    duplicates: list[str]
    stale_reasons: dict[str, str] = dataclasses.field(default_factory=dict)      # id -> reason
    changed_columns: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # id -> columns

    @property
    def in_sync(self) -> bool:
        return not (self.missing or self.stale or self.changed or self.duplicates)

    def counts(self) -> dict[str, int]:
        return {"missing": len(self.missing), "stale": len(self.stale),
                "changed": len(self.changed), "duplicates": len(self.duplicates)}


def compare_day(source: pa.Table, sink: pa.Table) -> DayDiff:
    """`source`: one row per id; `sink`: one row per sink row (ids repeat for duplicates). Columns: id, h."""
    src = dict(zip(source.column(KEY_COLUMN).to_pylist(), source.column("h").to_pylist()))
    sink_ids = sink.column(KEY_COLUMN).to_pylist()
    sink_hashes: dict[str, set[int]] = defaultdict(set)
    for key, h in zip(sink_ids, sink.column("h").to_pylist()):
        sink_hashes[key].add(h)
    row_counts = Counter(sink_ids)
    return DayDiff(
        missing=sorted(k for k in src if k not in sink_hashes),
        stale=sorted(k for k in sink_hashes if k not in src),
        changed=sorted(k for k, h in src.items() if k in sink_hashes and h not in sink_hashes[k]),
        duplicates=sorted(k for k, n in row_counts.items() if n > 1),
    )


def _normal(column: str, value):
    if column == "labels":
        return sorted(value or [])
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def changed_columns(source_row: dict, sink_rows: list[dict]) -> list[str]:
    """Columns in which the sink row closest to the source row differs from it."""
    best = None
    for row in sink_rows:
        diff = [c for c in COMPARED if _normal(c, row.get(c)) != _normal(c, source_row.get(c))]
        if best is None or len(diff) < len(best):
            best = diff
    return best or []


@dataclasses.dataclass
class RangeDiff:
    first: dt.date
    last: dt.date
    source_days: dict[dt.date, tuple[int, int]]
    sink_days: dict[dt.date, dict]
    days: dict[dt.date, DayDiff]          # only the days whose fingerprints differ

    def reason_counts(self) -> dict[str, int]:
        counts = Counter(r for d in self.days.values() for r in d.stale_reasons.values())
        return {r: counts.get(r, 0) for r in STALE_REASONS} | {r: n for r, n in counts.items() if r not in STALE_REASONS}

    def column_counts(self) -> dict[str, int]:
        counts = Counter(c for d in self.days.values() for cols in d.changed_columns.values() for c in cols)
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def as_doc(self, customer: str, limit: int) -> dict:
        """The `chsync diff --json` document: counts per class and day, up to `limit` samples per class."""
        days = [{"day": day.isoformat(), **d.counts()} for day, d in sorted(self.days.items()) if not d.in_sync]
        samples: dict[str, list] = {"missing": [], "stale": [], "changed": [], "duplicates": []}
        for d in self.days.values():
            def room(kind: str) -> int:
                return max(0, limit - len(samples[kind]))
            samples["missing"] += d.missing[: room("missing")]
            samples["duplicates"] += d.duplicates[: room("duplicates")]
            samples["stale"] += [{"id": k, "reason": d.stale_reasons.get(k)} for k in d.stale[: room("stale")]]
            samples["changed"] += [{"id": k, "columns": d.changed_columns.get(k, [])}
                                   for k in d.changed[: room("changed")]]
        classes = {k: sum(d[k] for d in days) for k in ("missing", "stale", "changed", "duplicates")}
        return {"customer": customer, "from": self.first.isoformat(), "to": self.last.isoformat(),
                "classes": classes, "stale_reasons": self.reason_counts(), "changed_columns": self.column_counts(),
                "days": days, "samples": samples, "in_sync": not days}


def _agree(src: tuple[int, int], snk: dict | None) -> bool:
    snk = snk or {"rows": 0, "distinct": 0, "hash_sum": 0}
    return src[0] == snk["rows"] == snk["distinct"] and src[1] == snk["hash_sum"]


def hash_sum(h: pa.ChunkedArray) -> int:
    """Sum of 60-bit hashes mod 2^64, exact: summed as two 30-bit halves so int64 cannot overflow."""
    if len(h) == 0:
        return 0
    high = pc.sum(pc.shift_right(h, 30)).as_py() or 0
    low = pc.sum(pc.bit_wise_and(h, (1 << 30) - 1)).as_py() or 0
    return ((high << 30) + low) % (1 << 64)


def _windows(first: dt.date, last: dt.date, days: int):
    while first <= last:
        end = min(last, first + dt.timedelta(days=days - 1))
        yield first, end
        first = end + dt.timedelta(days=1)


def diff_range(source, sink, first: dt.date, last: dt.date, *, explain: bool = True,
               window_days: int = 7, hasher=None) -> RangeDiff:
    """Per day: compare (count, distinct, hash sum); drill into a day by (id, hash) only when they differ.
    The source is hashed once per window of days (memory bounded by a window, not the range), by
    Postgres or, given a `hasher` (pull mode), by the sink reading Postgres itself."""
    precision = sink.capabilities.time_precision
    hasher = hasher or source
    result = RangeDiff(first, last, {}, sink.day_stats(first, last), {})
    days = len(day_range(first, last))
    with StepProgress(days + (1 if explain else 0), "compare") as progress:
        for lo, hi in _windows(first, last, window_days):
            pairs = hasher.range_hashes(lo, hi, precision)
            for day in day_range(lo, hi):
                day_pairs = pairs.filter(pc.equal(pairs.column("day"), pa.scalar(day, pa.date32())))
                if day_pairs.num_rows:
                    result.source_days[day] = (day_pairs.num_rows, hash_sum(day_pairs.column("h")))
                if not _agree(result.source_days.get(day, (0, 0)), result.sink_days.get(day)):
                    result.days[day] = compare_day(day_pairs.select([KEY_COLUMN, "h"]), sink.day_hashes(day))
            progress.advance(f"{lo} – {hi} ({len(result.days)} days differ so far)", len(day_range(lo, hi)))
        if explain:
            _explain(source, sink, result, precision)
            progress.advance(f"{len(result.days)} differing days explained")
    return result


def diff_with_mode(source, sink, first: dt.date, last: dt.date, mode: str = "auto", *,
                   explain: bool = True) -> tuple[RangeDiff, str, str]:
    """The diff with the source side hashed by Postgres (push) or inside the sink (pull); returns it
    with the mode that ran and why."""
    from .plan import choose_mode
    from .sink.pull import Puller
    chosen, why = choose_mode(mode, sink.capabilities, "diff")
    if chosen == "pull":
        from .sink.mirror import Mirror
        mirror = Mirror(sink) if sink.capabilities.backend == "server" else None
        with mirror or contextlib.nullcontext(), Puller(mirror or sink, source) as puller:
            return diff_in_sink(source, puller, first, last, explain=explain, mirror=mirror), chosen, why
    return diff_range(source, sink, first, last, explain=explain), chosen, why


def diff_in_sink(source, puller, first: dt.date, last: dt.date, *, explain: bool = True,
                 mirror=None) -> RangeDiff:
    """The same diff with the source side read, hashed and joined inside the sink (pull mode): only the
    differing keys come back. Same classes and reasons as `diff_range`. Window by window (about
    DIFF_WINDOW_ROWS source rows each), so memory is bounded by a window, not the range; Postgres explains
    one window's stale rows while the sink reads the next. `mirror`: the puller's sink is a chDB copy of a
    server sink, which takes in the server's rows of each window first."""
    from .sink.pull_diff import SinkSideDiff
    side = SinkSideDiff(puller)
    result = RangeDiff(first, last, {}, {}, {})
    puller.plan(day_range(first, last), rows_per_window=DIFF_WINDOW_ROWS)
    windows = puller.windows()
    try:
        with StepProgress(len(windows), "compare in the sink") as progress, \
                concurrent.futures.ThreadPoolExecutor(1) as postgres:
            explained = []
            for lo, hi in windows:
                if mirror is not None:
                    mirror.hold(lo, hi)
                side.load(lo, hi, once=len(windows) == 1)
                result.source_days.update(side.day_fingerprints())
                result.sink_days.update(side.sink_day_stats())
                differing = [day for day in day_range(lo, hi)
                             if not _agree(result.source_days.get(day, (0, 0)), result.sink_days.get(day))]
                result.days.update({day: DayDiff([], [], [], []) for day in differing})
                keys = side.differing_keys(differing) if differing else pa.table({})
                if keys.num_rows:  # (an empty chDB result has no columns at all)
                    if explain:  # first, so that Postgres works while the sink classifies and compares
                        explained.append(postgres.submit(_explain_stale, source, result, _stale_pairs(keys)))
                    _classify(result, keys)
                    if explain:
                        for day, columns, ids in side.changed_columns():
                            result.days[day].changed_columns.update(dict.fromkeys(ids, columns))
                progress.advance(f"{lo} – {hi}: {len(differing)} days differ", 1)
            for done in explained:
                done.result()
    finally:
        side.close()
    return result


def _classify(result: RangeDiff, keys: pa.Table) -> None:
    """`SinkSideDiff.differing_keys` (sorted by day and id) into the classes, vectorised: a window can
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


def _split_by_day(days: pa.ChunkedArray, ids: pa.ChunkedArray):
    """(day, [ids]) runs of a table sorted by day."""
    start = 0
    for entry in pc.value_counts(days).to_pylist():  # in order of first appearance, so in day order
        n = entry["counts"]
        yield entry["values"], ids.slice(start, n).to_pylist()
        start += n


def _stale_pairs(keys: pa.Table) -> tuple[list[str], list[str]]:
    """(days, ids) of the stale rows among `SinkSideDiff.differing_keys`, days as ISO text."""
    stale = keys.filter(pc.invert(keys.column("in_source")))
    return pc.cast(stale.column("day"), pa.string()).to_pylist(), stale.column("id").to_pylist()


def _explain_stale(source, result: RangeDiff, stale: tuple[list[str], list[str]] | None = None) -> None:
    """The reason of every stale (day, id) (by default, of every stale row found), asked of Postgres."""
    if stale is None:
        pairs = [(day.isoformat(), k) for day, d in result.days.items() for k in d.stale]
        stale = [p[0] for p in pairs], [p[1] for p in pairs]
    for day, reason, ids in source.stale_reasons(*stale):
        result.days[day].stale_reasons.update(dict.fromkeys(ids, reason))


def _explain(source, sink, result: RangeDiff, precision: int) -> None:
    _explain_stale(source, result)
    for day, d in result.days.items():
        if not d.changed:
            continue
        src_rows = {r[KEY_COLUMN]: r for r in source.read_keys(day, d.changed, precision).to_pylist()}
        sink_rows: dict[str, list[dict]] = defaultdict(list)
        for r in sink.read_keys(day, d.changed).to_pylist():
            sink_rows[r[KEY_COLUMN]].append(r)
        for key in d.changed:
            if key in src_rows:
                d.changed_columns[key] = changed_columns(src_rows[key], sink_rows[key])
