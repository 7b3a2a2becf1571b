"""The daily job (the seed's cron), idempotent: each day's source set replaces that day in the sink."""

from __future__ import annotations

import dataclasses
import datetime as dt

from .. import log
from ..errors import Refused, RuntimeFailure
from ..progress import StepProgress
from ..sink.base import ClickHouseSink
from ..source.postgres import PostgresSource
from .day_swap import DaySwap, swap_day


@dataclasses.dataclass
class SyncResult:
    customer: str
    profiles_scanned: int
    profiles_matched: int
    days: list[DaySwap] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "customer": self.customer, "profiles_scanned": self.profiles_scanned,
            "profiles_matched": self.profiles_matched,
            "days": [{"day": d.day.isoformat(), "source": d.source_rows, "sink_rows_before": d.sink_rows_before,
                      "rows_written": d.rows_written, "action": d.action, "seconds": round(d.seconds, 3)}
                     for d in self.days],
            "rows_written": sum(d.rows_written for d in self.days),
            "refused": self.refused,
        }


def run_sync(source: PostgresSource, sink: ClickHouseSink, days: list[dt.date], *,
             allow_shrink: bool = False) -> SyncResult:
    """Sync every day; a refused day is left untouched and reported, the others go on.
    A failed source read or sink write stops the run (RuntimeFailure): finished days stay finished."""
    source.check_customer()
    sink.require_table()
    if not sink.capabilities.partitions_are_days:
        raise RuntimeFailure(f"sink table {sink.table} is partitioned by {sink.capabilities.partition_key}: the "
                             "daily sync swaps day partitions; use `chsync backfill --strategy repair` instead")
    scanned, matched = source.profiles()
    result = SyncResult(source.spec.customer, scanned, matched)
    log.info(f"profiles scanned {scanned} (filtered to {matched}: {source.spec.customer})")
    with StepProgress(len(days), "sync") as progress:
        for day in days:
            try:
                done = swap_day(source, sink, day, allow_shrink=allow_shrink)
            except Refused as e:
                log.info(f"{day}: refused: {e}")
                result.refused.append(str(e))
                progress.advance(f"{day} refused")
                continue
            result.days.append(done)
            log.info(f"{day}: {done.rows_written:,} rows written ({done.action}, "
                     f"{done.sink_rows_before:,} rows before, {done.seconds:.2f}s)")
            progress.advance(f"{day} {done.action}")
    return result
