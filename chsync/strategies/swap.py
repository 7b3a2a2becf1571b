"""swap: each drifted partition (a day, or a whole month) is staged, checked against Postgres and swapped in
with REPLACE PARTITION, so readers never see it empty or doubled."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .base import Run, Strategy
from .partition import Unit, month_of, swap_unit

if TYPE_CHECKING:
    from ..scope import DayRow
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource


class Swap(Strategy):
    name = "swap"
    rank = 0
    states = ["planned", "staged", "verified", "swapped", "checked"]
    read_window = "none: each day is staged, checked, and swapped in as one partition"
    pulls = True
    parallel = True
    grains = ("day", "month")

    def action(self, day: DayRow, grain: str | None) -> str:
        if day.in_sync:
            return "skip"
        return "drop" if day.source == 0 and grain == "day" else "swap"

    def units(self, days: list[dt.date], grain: str | None) -> list[Unit]:
        if grain != "month":
            return [Unit(d, d) for d in days]
        months: dict[dt.date, Unit] = {}
        for d in days:
            unit = month_of(d)
            months.setdefault(unit.first, unit)
        return list(months.values())

    def preview(self, sink: ClickHouseSink, day: dt.date, action: str, drift: DayRow, insert: str) -> list[str]:
        if action == "drop":
            return [str(s) for s in sink.drop_day_statements(day)]
        stage = sink.stage_table(day)
        n = drift.source
        return [*(str(s) for s in sink.stage_statements(day)), insert.format(table=stage),
                f"-- check {stage}: {n:,} rows and fingerprint = Postgres",
                *(str(s) for s in sink.swap_statements(day)),
                f"-- check {sink.read_table} for {day}: {n:,} rows and fingerprint = Postgres"]

    def run_unit(self, run: Run, unit: Unit, action: str, source: PostgresSource,
                 sink: ClickHouseSink) -> tuple[int, str]:
        done = swap_unit(source, sink, unit, allow_shrink=run.allow_shrink, puller=run.puller,
                         batch_rows=run.batch_rows,
                         on_state=lambda state, n, detail="": run.state(unit, state, n, detail=detail))
        run.proved(unit, done.expected)
        return done.rows_written, done.action
