"""The daily job (the seed's cron), idempotent: each day's source set replaces that day in the sink.

On day partitions a day is swapped (strategies/partition.py); on a month-partitioned table rewriting the
month for one day would be wasteful, so the day's differing keys are repaired instead (strategies/
repair.py) and the result says which."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from typing import Any

import pyarrow as pa

from .. import log, policy
from ..diff.transport import not_pullable
from ..errors import Refused
from ..progress import StepProgress
from ..sink.base import ClickHouseSink
from ..source.postgres import PostgresSource
from ..strategies.partition import Unit, check_guards, check_live, fingerprint_of, swap_unit
from ..strategies.repair import repair_day
from .barrier import wait_for_mutations
from .parallel import Workers


@dataclasses.dataclass
class SyncedDay:
    day: dt.date
    source_rows: int
    sink_rows_before: int
    rows_written: int
    action: str
    seconds: float

    def to_json(self) -> dict:
        return {"day": self.day.isoformat(), "source": self.source_rows, "sink_rows_before": self.sink_rows_before,
                "rows_written": self.rows_written, "action": self.action, "seconds": round(self.seconds, 3)}


@dataclasses.dataclass
class SyncResult:
    customer: str | None
    units: tuple[int, int] | None
    days: list[SyncedDay] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)
    mode: str = "push"
    mode_why: str = ""

    @property
    def rows_written(self) -> int:
        return sum(d.rows_written for d in self.days)

    def to_json(self) -> dict:
        scanned, matched = self.units if self.units else (None, None)
        return {"customer": self.customer, "profiles_scanned": scanned, "profiles_matched": matched,
                "days": [d.to_json() for d in self.days], "rows_written": self.rows_written,
                "refused": self.refused, "mode": self.mode, "mode_why": self.mode_why}


class _DayRepair:
    """What strategies/repair.py needs to repair one day outside a backfill (no journal)."""

    def __init__(self, source: PostgresSource, sink: ClickHouseSink, allow_shrink: bool):
        self.source, self.sink, self.allow_shrink = source, sink, allow_shrink
        self.run_id = f"sync-{time.time_ns()}"

    def state(self, unit: Unit, state: str, rows: int = 0, detail: str = "") -> None:
        pass

    def mutate(self, statements) -> None:
        self.sink.run(statements)
        wait_for_mutations(self.sink)

    def insert(self, day: dt.date, data: pa.Table) -> None:
        self.sink.insert_day(day, data.drop_columns(["h"]), token=f"{self.run_id}-{day}")

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
        written, _ = repair_day(self, Unit(day, day), data, fingerprint_of(data), self.sink)
        return SyncedDay(day, data.num_rows, totals["rows"], written, "repaired", time.monotonic() - started)


def run_sync(source: PostgresSource, sink: ClickHouseSink, days: list[dt.date], *,
             allow_shrink: bool = False, mode: str = "push", workers: int = 1) -> SyncResult:
    """Sync every day; a refused day is left untouched and reported, the others go on.
    A failed source read or sink write stops the run (RuntimeFailure): finished days stay finished."""
    source.check_customer()
    sink.require_table()
    caps = sink.capabilities
    grain = caps.partition_grain
    if grain is None:
        from ..errors import RuntimeFailure
        raise RuntimeFailure(f"sink table {sink.table} is partitioned by {caps.partition_key}: the daily sync "
                             "replaces day (or month) partitions; use `chsync backfill --strategy repair` instead")
    swaps = grain == "day"
    reason = not_pullable(sink.spec, caps.time_precision) if mode != "push" else None
    choice = policy.write_mode(mode, caps, "swap" if swaps else "repair", strategy_pulls=swaps, not_pullable=reason)
    units = source.units()
    result = SyncResult(source.spec.customer, units, mode=choice.name, mode_why=choice.why)
    if units:
        log.info(f"{source.spec.units.label.lower() if source.spec.units else 'units'} scanned {units[0]} "
                 f"(filtered to {units[1]}: {source.spec.customer})")
    log.info(f"mode {choice.name}: {choice.why}")
    if not swaps:
        log.info(f"{sink.table} is partitioned by month: each day's differing keys are repaired instead of "
                 "rewriting its month")
    pool = Workers(source, sink, workers if swaps else 1)
    puller_context: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if choice.name == "pull":
        from ..pull.reader import Puller
        puller_context = Puller(sink, source)
    with puller_context as puller, StepProgress(len(days), "sync") as progress:
        if puller:
            puller.plan([(d, d) for d in days])

        def one_day(day: dt.date) -> SyncedDay | Refused:
            src, snk = pool.pair()
            try:
                if not swaps:
                    return _DayRepair(src, snk, allow_shrink).day(day)
                done = swap_unit(src, snk, Unit(day, day), allow_shrink=allow_shrink, puller=puller)
                return SyncedDay(day, done.source_rows, done.sink_rows_before, done.rows_written, done.action,
                                 done.seconds)
            except Refused as e:
                return e

        def done(day: dt.date, outcome: SyncedDay | Refused) -> None:
            if isinstance(outcome, Refused):
                log.info(f"{day}: refused: {outcome}")
                result.refused.append(str(outcome))
                progress.advance(f"{day} refused")
                return
            result.days.append(outcome)
            log.info(f"{day}: {outcome.rows_written:,} rows written ({outcome.action}, "
                     f"{outcome.sink_rows_before:,} rows before, {outcome.seconds:.2f}s)")
            progress.advance(f"{day} {outcome.action}")

        pool.run(days, one_day, done)
    result.days.sort(key=lambda d: d.day)
    return result


__all__ = ["run_sync", "SyncResult", "SyncedDay", "fingerprint_of"]
