"""The daily job (the seed's cron), idempotent: each day's source set replaces that day in the sink; and
the job that heals itself: the days before it (the lookback) are compared by per-day fingerprints, each
database computing its own side, and exactly the days that differ are replaced too.

On day partitions a day is swapped (strategies/partition.py); on a month-partitioned table rewriting the
month for one day would be wasteful, so the day's differing keys are repaired instead (strategies/
repair.py). A sync is one writer of the table: it takes the table's lock like a backfill, and is journaled
(run kind "sync"), so `chsync runs` and a backfill's lock see it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from .. import __version__, log, policy
from ..diff.result import DayDiff
from ..diff.run import compare_days, drill_day
from ..diff.transport import not_pullable
from ..errors import ChsyncError, Refused, RuntimeFailure
from ..faults import fault_point
from ..plan.model import Plan
from ..progress import StepProgress
from ..schemas import tagged
from ..sink.base import ClickHouseSink, Statement
from ..source.postgres import PostgresSource
from ..source.sql import HASH
from ..strategies.partition import BATCH_ROWS, Unit, check_guards, check_live, fingerprint_of, swap_unit
from ..strategies.repair import repair_day
from .backfill import new_run_id
from .barrier import wait_for_mutations
from .journal import Journal, require_writable
from .ledger import DRIFTED, HEALED, PROVEN, Ledger, ProofSummary, history_days, least_recently_proven, summarize
from .parallel import Workers


@dataclasses.dataclass
class SyncedDay:
    day: dt.date
    source_rows: int
    sink_rows_before: int
    rows_written: int
    action: str
    seconds: float
    fingerprint: tuple[int, int] = (0, 0)    # Postgres's (rows, hash sum) the written day was proven equal to

    def to_json(self) -> dict:
        return {"day": self.day.isoformat(), "source": self.source_rows, "sink_rows_before": self.sink_rows_before,
                "rows_written": self.rows_written, "action": self.action, "seconds": round(self.seconds, 3)}


@dataclasses.dataclass
class Healed:
    """What a drifted day held before it was replaced."""
    day: dt.date
    drift: DayDiff

    def to_json(self) -> dict:
        counts = self.drift.counts()
        return {"day": self.day.isoformat(), "missing": counts["missing"], "stale": counts["stale"],
                "stale_reasons": dict(self.drift.reasons()), "changed": counts["changed"],
                "duplicates": counts["duplicates"]}


@dataclasses.dataclass
class SyncResult:
    customer: str | None
    units: tuple[int, int] | None
    days: list[SyncedDay] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)
    mode: str = "push"
    mode_why: str = ""
    run: str = ""
    lookback: bool = False                   # whether days were checked (the keys below are printed)
    checked: list[dt.date] = dataclasses.field(default_factory=list)
    drifted: list[dt.date] = dataclasses.field(default_factory=list)
    healed: list[Healed] = dataclasses.field(default_factory=list)
    left: list[dt.date] = dataclasses.field(default_factory=list)   # drifted, not healed (cap, dry run)
    dry_run: bool = False
    drift: dict[dt.date, DayDiff] = dataclasses.field(default_factory=dict)   # of each drifted day, as found
    agreeing: dict[dt.date, tuple[int, int]] = dataclasses.field(default_factory=dict)  # checked, found equal
    swept: list[dt.date] = dataclasses.field(default_factory=list)   # checked because least recently proven
    proofs: ProofSummary | None = None       # the table's history after this run (with a lookback)

    @property
    def rows_written(self) -> int:
        return sum(d.rows_written for d in self.days)

    @property
    def in_sync(self) -> bool:
        return not self.refused and not self.left

    def to_json(self) -> dict:
        scanned, matched = self.units if self.units else (None, None)
        doc = {"customer": self.customer, "units_scanned": scanned, "units_matched": matched,
               "days": [d.to_json() for d in self.days], "rows_written": self.rows_written,
               "refused": self.refused, "mode": self.mode, "mode_why": self.mode_why}
        if self.lookback:
            doc |= {"checked": [d.isoformat() for d in self.checked],
                    "drifted": [d.isoformat() for d in self.drifted],
                    "healed": [h.to_json() for h in self.healed], "left": [d.isoformat() for d in self.left],
                    "dry_run": self.dry_run, "run": self.run, "swept": [d.isoformat() for d in self.swept]}
            if self.proofs is not None:
                doc |= self.proofs.to_json()
        return tagged("sync", doc)


class _DayRepair:
    """What strategies/repair.py needs to repair one day outside a backfill."""

    def __init__(self, source: PostgresSource, sink: ClickHouseSink, allow_shrink: bool, run_id: str):
        self.source, self.sink, self.allow_shrink, self.run_id = source, sink, allow_shrink, run_id

    def state(self, unit: Unit, state: str, rows: int = 0, *, detail: str = "") -> None:
        pass

    def mutate(self, statements: list[Statement]) -> None:
        self.sink.run(statements)
        wait_for_mutations(self.sink)

    def insert(self, day: dt.date, data: pa.Table) -> None:
        self.sink.insert_day(day, data.drop_columns([HASH]), token=f"{self.run_id}-{day}")

    def check_live(self, day: dt.date, expected: tuple[int, int]) -> None:
        check_live(self.sink, Unit(day, day), expected)

    def day(self, day: dt.date) -> SyncedDay:
        started = time.monotonic()
        data = self.source.read_day(day, self.sink.capabilities.time_precision)
        totals = self.sink.range_totals(day, day)
        spec = self.source.spec
        check_guards(str(day), data.num_rows, totals["distinct"], spec.min_shrink_ratio, self.allow_shrink,
                     spec.noun[1])
        self.sink.check_reachable()
        expected = fingerprint_of(data)
        written, _ = repair_day(self, Unit(day, day), data, expected, self.sink)
        return SyncedDay(day, data.num_rows, totals["rows"], written, "repaired", time.monotonic() - started,
                         expected)


@dataclasses.dataclass
class SyncRequest:
    days: list[dt.date]                      # replaced whatever they hold
    check: list[dt.date] = dataclasses.field(default_factory=list)   # compared; replaced only when they differ
    max_heal: int | None = None
    dry_run: bool = False
    allow_shrink: bool = False
    sweep: int = 0                           # also check this many days of the history, least recently proven
    batch_rows: int = BATCH_ROWS             # rows of a day held in memory at once (a swap stages in batches)
    mode: str = "push"
    workers: int | None = None               # None: the sink's default (Capabilities.day_workers)
    wait: float = 0.0                        # seconds to wait for another writer's lock


def run_sync(source: PostgresSource, sink: ClickHouseSink, request: SyncRequest) -> SyncResult:
    """Sync the requested days, then check the lookback days and heal the drifted ones. A refused day is
    left untouched and reported, the others go on; a failure stops the run (finished days stay
    finished)."""
    source.check_customer()
    sink.require_table()
    if not request.dry_run:
        require_writable(sink)
    caps = sink.capabilities
    if caps.partition_grain is None:
        raise RuntimeFailure(f"sink table {sink.table} is partitioned by {caps.partition_key}: the daily sync "
                             "replaces day (or month) partitions; use `chsync backfill --strategy repair` instead")
    swaps = caps.partition_grain == "day"
    reason = not_pullable(sink.spec, caps.time_precision) if request.mode != "push" else None
    choice = policy.write_mode(request.mode, caps, "swap" if swaps else "repair", strategy_pulls=swaps,
                               not_pullable=reason)
    units = source.units()
    result = SyncResult(source.spec.customer, units, mode=choice.name, mode_why=choice.why,
                        lookback=bool(request.check or request.sweep), dry_run=request.dry_run)
    if units and source.spec.units:
        log.info(f"{source.spec.units.label.lower()} scanned {units[0]} (filtered to {units[1]}: "
                 f"{source.spec.customer})")
    log.info(f"mode {choice.name}: {choice.why}")
    if not swaps:
        log.info(f"{sink.table} is partitioned by month: each day's differing keys are repaired instead of "
                 "rewriting its month")
    journal = Journal(sink)
    ledger = Ledger(journal, source.spec.customer)
    if request.dry_run:
        result.days = []
        request = _with_sweep(sink, ledger, request, result)
        if request.check:
            _check(source, sink, request, result)
        result.left = list(result.drifted)
        if request.check:
            result.proofs = _summary(sink, ledger, request)
        return result
    journal.ensure()
    result.run = f"sync-{new_run_id()}"
    sink.stage_suffix = "_" + result.run.rsplit("-", 1)[-1]
    _acquire(journal, result.run, request.wait)
    try:
        journal.start_run(result.run, _record(source, sink, request, choice), kind="sync")
        request = _with_sweep(sink, ledger, request, result)
        with _checking_alongside(source, sink, request, result):
            _write(source, sink, request, request.days, result, choice.name, swaps, journal, ledger)
        if request.check:
            ledger.record(PROVEN, result.agreeing, "check", result.run)
            ledger.record(DRIFTED, result.drifted, "check", result.run)
            heal = result.drifted[: request.max_heal] if request.max_heal is not None else result.drifted
            result.left = [d for d in result.drifted if d not in heal]
            _write(source, sink, request, heal, result, choice.name, swaps, journal, ledger, healing=True)
            for day in result.left:
                journal.day_state(result.run, day, "drifted", detail="left for a later run (--max-heal-days)")
            result.proofs = _summary(sink, ledger, request)
        journal.run_state(result.run, "finished", "in sync" if result.in_sync else "drift left")
        journal.prune(source.spec.keep_journal_days)
    except BaseException as e:
        journal.fail(result.run, str(e) if isinstance(e, RuntimeFailure) else type(e).__name__)
        raise
    journal.release(result.run)
    sink.release_memory()
    result.days.sort(key=lambda d: d.day)            # workers finish in any order
    result.healed.sort(key=lambda h: h.day)
    return result


def _with_sweep(sink: ClickHouseSink, ledger: Ledger, request: SyncRequest, result: SyncResult) -> SyncRequest:
    """The request with the sweep's days added to those it checks: the `sweep` days of the table's history
    before the checked (or written) days that were proven longest ago, or never."""
    if not request.sweep:
        return request
    before = min([*request.days, *request.check]) - dt.timedelta(days=1)
    taken = {*request.days, *request.check}
    candidates = [d for d in history_days(sink, sink.spec, before) if d not in taken]
    result.swept = least_recently_proven(ledger.proofs(), candidates, request.sweep)
    if result.swept:
        log.info(f"sweep: also checking {len(result.swept)} day(s) least recently proven "
                 f"({', '.join(d.isoformat() for d in result.swept[:5])}{' ...' if len(result.swept) > 5 else ''})")
    return dataclasses.replace(request, check=sorted(taken.difference(request.days) | set(result.swept)))


def _summary(sink: ClickHouseSink, ledger: Ledger, request: SyncRequest) -> ProofSummary:
    """How long the table's days have gone unproven, after this run."""
    last = max([*request.days, *request.check])
    return summarize(ledger.proofs(), history_days(sink, sink.spec, last))


def _acquire(journal: Journal, run: str, wait: float) -> None:
    """The table's lock, waiting up to `wait` seconds while another writer holds it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            journal.acquire(run, what="backfill or sync")
            return
        except Refused:
            if time.monotonic() >= deadline:
                raise
            log.info("the table is locked by another writer: waiting")
            time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))


def _record(source: PostgresSource, sink: ClickHouseSink, request: SyncRequest, choice: policy.Choice) -> Plan:
    """The sync as the journal records it (a plan without per-day steps)."""
    days = sorted([*request.days, *request.check])
    spec = sink.spec
    return Plan(customer=spec.customer, sink=sink.display_url, sink_table=sink.table, first=days[0].isoformat(),
                last=days[-1].isoformat(), strategy="sync", why="the daily job", mode=choice.name,
                mode_why=choice.why, read_window="none: each day is staged, checked, and swapped in as one "
                "partition", states=["checked"], capabilities=sink.capabilities.as_dict(), global_steps=[], days=[],
                eta_basis="", table=spec.name, spec=spec.fingerprint, chsync_version=__version__)


@contextlib.contextmanager
def _checking_alongside(source: PostgresSource, sink: ClickHouseSink, request: SyncRequest,
                        result: SyncResult) -> Iterator[None]:
    """Check the lookback days (`_check`) while the body writes the requested days: Postgres fingerprints
    the lookback in one backend while another reads the day to write (a quiet night of the demo, in
    process: 1.94 s in sequence, 1.56 s at once). Only when there are days to write and they lie outside
    the span the check reads; otherwise the check runs after the body, on the run's own connections. The
    check's error, if any, is raised once the body has finished."""
    if not request.check:
        yield
        return
    first, last = min(request.check), max(request.check)
    if not request.days or any(first <= day <= last for day in request.days):
        yield
        _check(source, sink, request, result)
        return
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="chsync-check") as pool, \
            contextlib.closing(source.clone()) as twin_source, contextlib.closing(sink.clone()) as twin_sink:
        checking = pool.submit(_check, twin_source, twin_sink, request, result)
        try:
            yield
        finally:
            concurrent.futures.wait([checking])   # its connections close after it has finished
        checking.result()


def _check(source: PostgresSource, sink: ClickHouseSink, request: SyncRequest, result: SyncResult) -> None:
    """Compare the lookback days by per-day fingerprints (Postgres and the sink each aggregate their own
    rows: no row leaves either when a day is in sync). A drifted day is drilled into and explained as it
    is healed, from the rows read to heal it (`_write`)."""
    days = sorted(request.check)
    fault_point("check", days[0])
    drifted: list[dt.date] = []
    for first, last in _runs_of(days):    # a sweep's days lie apart: compare each run of days by itself
        differ, agree = compare_days(source, sink, first, last)
        drifted += differ
        result.agreeing.update(agree)
    result.checked = days
    result.drifted = drifted
    log.info(f"checked {len(days)} day(s): {len(drifted)} drifted"
             + (f" ({', '.join(d.isoformat() for d in drifted[:10])}{' ...' if len(drifted) > 10 else ''})"
                if drifted else ""))


def _runs_of(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days, (first, last) each."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _failed(journal: Journal, run: str, day: dt.date, error: ChsyncError) -> None:
    """Record the day a sync failed on, as far as the sink lets us: the error is what the user must see."""
    try:
        journal.day_state(run, day, "failed", detail=str(error))
    except ChsyncError as e:
        log.info(f"the journal could not record that {day} failed: {e}")


def _write(source: PostgresSource, sink: ClickHouseSink, request: SyncRequest, days: list[dt.date],
           result: SyncResult, mode: str, swaps: bool, journal: Journal, ledger: Ledger, healing: bool = False) -> None:
    if not days:
        return
    pool = Workers(source, sink, request.workers if swaps else 1)
    puller_context: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if mode == "pull":
        from ..pull.reader import Puller
        puller_context = Puller(sink, source)
    with puller_context as puller, StepProgress(len(days), "heal" if healing else "sync") as progress:
        if puller:
            puller.plan([(d, d) for d in days])

        def one_day(day: dt.date) -> SyncedDay | Refused:
            src, snk = pool.pair()
            try:
                def found(read: pa.Table | None = None) -> None:   # what a healed day held, before it is replaced
                    result.drift[day] = drill_day(src, snk, day, read)

                if healing and (not swaps or puller):
                    found()
                if not swaps:
                    return _DayRepair(src, snk, request.allow_shrink, result.run).day(day)
                done = swap_unit(src, snk, Unit(day, day), allow_shrink=request.allow_shrink, puller=puller,
                                 on_read=found if healing and not puller else None, batch_rows=request.batch_rows)
                return SyncedDay(day, done.source_rows, done.sink_rows_before, done.rows_written, done.action,
                                 done.seconds, done.expected)
            except Refused as e:
                return e
            except ChsyncError as e:     # the run stops here: the journal says which day it stopped on
                _failed(journal, result.run, day, e)
                raise

        def done(day: dt.date, outcome: SyncedDay | Refused) -> None:
            if isinstance(outcome, Refused):
                log.info(f"{day}: refused: {outcome}")
                result.refused.append(str(outcome))
                journal.day_state(result.run, day, "refused", detail=str(outcome))
                progress.advance(f"{day} refused")
                return
            result.days.append(outcome)
            if healing:
                result.healed.append(Healed(day, result.drift[day]))
            journal.day_state(result.run, day, "checked", outcome.rows_written, outcome.seconds,
                              "healed" if healing else "synced")
            if healing:
                ledger.record(HEALED, [day], "heal", result.run)
            ledger.record(PROVEN, {day: outcome.fingerprint}, "heal" if healing else "sync", result.run)
            log.info(f"{day}: {outcome.rows_written:,} rows written ({'healed, ' if healing else ''}"
                     f"{outcome.action}, {outcome.sink_rows_before:,} rows before, {outcome.seconds:.2f}s)")
            progress.advance(f"{day} {outcome.action}")

        pool.run(days, one_day, done)


__all__ = ["run_sync", "SyncRequest", "SyncResult", "SyncedDay", "Healed"]
