"""The daily job (the seed's cron), idempotent: each day's source set replaces that day in the sink."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

from .. import log
from ..errors import Refused, RuntimeFailure
from ..plan import choose_mode
from ..progress import StepProgress
from ..sink.base import ClickHouseSink
from ..sink.pull import Puller
from ..source.postgres import PostgresSource
from .day_swap import DaySwap, swap_day
from .parallel import Workers


@dataclasses.dataclass
class SyncResult:
    customer: str
    profiles_scanned: int
    profiles_matched: int
    days: list[DaySwap] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)
    mode: str = "push"
    mode_why: str = ""

    def as_dict(self) -> dict:
        return {
            "customer": self.customer, "profiles_scanned": self.profiles_scanned,
            "profiles_matched": self.profiles_matched,
            "days": [{"day": d.day.isoformat(), "source": d.source_rows, "sink_rows_before": d.sink_rows_before,
                      "rows_written": d.rows_written, "action": d.action, "seconds": round(d.seconds, 3)}
                     for d in self.days],
            "rows_written": sum(d.rows_written for d in self.days),
            "refused": self.refused, "mode": self.mode, "mode_why": self.mode_why,
        }


def run_sync(source: PostgresSource, sink: ClickHouseSink, days: list[dt.date], *,
             allow_shrink: bool = False, mode: str = "push", workers: int = 1) -> SyncResult:
    """Sync every day; a refused day is left untouched and reported, the others go on.
    A failed source read or sink write stops the run (RuntimeFailure): finished days stay finished."""
    mode, why = choose_mode(mode, sink.capabilities)
    source.check_customer()
    sink.require_table()
    if not sink.capabilities.partitions_are_days:
        raise RuntimeFailure(f"sink table {sink.table} is partitioned by {sink.capabilities.partition_key}: the "
                             "daily sync swaps day partitions; use `chsync backfill --strategy repair` instead")
    scanned, matched = source.profiles()
    result = SyncResult(source.spec.customer, scanned, matched, mode=mode, mode_why=why)
    log.info(f"profiles scanned {scanned} (filtered to {matched}: {source.spec.customer})")
    log.info(f"mode {mode}: {why}")
    workers = Workers(source, sink, workers)
    with Puller(sink, source) if mode == "pull" else contextlib.nullcontext() as puller, \
            StepProgress(len(days), "sync") as progress:
        if puller:
            puller.plan(days)

        def one_day(day: dt.date) -> DaySwap | Refused:
            try:
                src, snk = workers.pair()
                return swap_day(src, snk, day, allow_shrink=allow_shrink, puller=puller)
            except Refused as e:
                return e

        def done(day: dt.date, outcome: DaySwap | Refused) -> None:
            if isinstance(outcome, Refused):
                log.info(f"{day}: refused: {outcome}")
                result.refused.append(str(outcome))
                progress.advance(f"{day} refused")
                return
            result.days.append(outcome)
            log.info(f"{day}: {outcome.rows_written:,} rows written ({outcome.action}, "
                     f"{outcome.sink_rows_before:,} rows before, {outcome.seconds:.2f}s)")
            progress.advance(f"{day} {outcome.action}")

        workers.run(days, one_day, done)
    result.days.sort(key=lambda d: d.day)
    return result
