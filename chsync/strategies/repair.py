"""repair: the diff-driven minimal change: delete the stale, duplicated and changed keys of a day, insert
its missing and changed rows. Readers see differing rows come and go, never the rest of the day."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from ..diff.compare import HASH, KEY, compare_day
from .base import Run, Strategy, Writer
from .partition import Unit

if TYPE_CHECKING:
    from ..scope import DayRow
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource


class Repair(Strategy):
    name = "repair"
    rank = 1
    states = ["planned", "deleted", "inserted", "checked"]
    read_window = ("differing rows: stale/duplicate rows stay visible until their delete mutation finishes; "
                   "changed rows are absent between their delete and re-insert")
    mutations_per_day = 1

    def action(self, day: DayRow, grain: str | None) -> str:
        return "skip" if day.in_sync else "repair"

    def preview(self, sink: ClickHouseSink, day: dt.date, action: str, drift: DayRow, insert: str) -> list[str]:
        n_delete = drift.stale + drift.duplicates + drift.changed
        n_insert = drift.missing + drift.changed + drift.duplicates
        return [*(str(s) for s in sink.delete_keys_preview(day, n_delete)),
                "-- the ids: the day's stale, duplicate and changed keys, diffed again when applied",
                f"INSERT INTO {sink.table} ({n_insert:,} missing, changed and duplicated rows from Postgres)"]

    def run_unit(self, run: Run, unit: Unit, action: str, source: PostgresSource,
                 sink: ClickHouseSink) -> tuple[int, str]:
        day = unit.first
        data, expected, _ = run.read(day)
        return repair_day(run, unit, data, expected, sink)


def repair_day(run: Writer, unit: Unit, data: pa.Table, expected: tuple[int, int],
                sink: ClickHouseSink) -> tuple[int, str]:
    """Given the day's source read: delete what differs, insert what is missing or changed, check."""
    day = unit.first
    key = run.source.spec.key
    keys = pc.cast(data.column(key), pa.string())
    diff = compare_day(pa.table({KEY: keys, HASH: data.column(HASH)}), sink.day_hashes(day))
    remove = sorted(set(diff.stale) | set(diff.duplicates) | set(diff.changed))
    add = sorted(set(diff.missing) | set(diff.changed) | (set(diff.duplicates) & set(keys.to_pylist())))
    if remove:
        run.mutate(sink.delete_keys_statements(day, remove))
    run.state(unit, "deleted", len(remove))
    rows = data.filter(pc.is_in(keys, pa.array(add, pa.string())))
    run.insert(day, rows)
    run.state(unit, "inserted", rows.num_rows)
    run.check_live(day, expected)
    return rows.num_rows, f"repaired (-{len(remove)} +{rows.num_rows})"
