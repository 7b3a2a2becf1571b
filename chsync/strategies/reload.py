"""The seed's own repairs, delete then re-insert: per-day (option B, a day at a time) and bulk (option A,
one DELETE of the whole range first). Both leave days empty while they reload, and the plan says so."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..faults import fault_point
from ..timeline import Timeline
from .base import GlobalStep, Run, Strategy
from .partition import Unit, check_guards

if TYPE_CHECKING:
    from ..scope import DayRow
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource


class PerDay(Strategy):
    name = "per-day"
    rank = 3
    states = ["planned", "deleted", "inserted", "checked"]
    read_window = "one day at a time: each day is empty while it reloads (seed option B)"
    mutations_per_day = 1

    def action(self, day: DayRow, grain: str | None) -> str:
        if day.in_sync:
            return "skip"
        return "drop" if day.source == 0 and grain == "day" else "reload"

    def preview(self, sink: ClickHouseSink, day: dt.date, action: str, drift: DayRow, insert: str) -> list[str]:
        if action == "drop":
            return [str(s) for s in sink.drop_day_statements(day)]
        return [*(str(s) for s in sink.delete_range_statements(day, day)), "-- wait for mutations",
                insert.format(table=sink.table)]

    def run_unit(self, run: Run, unit: Unit, action: str, source: PostgresSource,
                 sink: ClickHouseSink) -> tuple[int, str]:
        """Delete the day, wait, insert its source set. Whatever the day holds is deleted first, so a resumed
        half-done insert cannot double."""
        day = unit.first
        data, expected, before = run.read(day)
        if before[0]:
            run.mutate(sink.delete_range_statements(day, day))
        run.state(unit, "deleted")
        run.insert(day, data)
        run.state(unit, "inserted", data.num_rows)
        run.check_live(day, expected)
        return data.num_rows, "reloaded"


class Bulk(PerDay):
    name = "bulk"
    rank = 2
    read_window = "the whole range: empty from the range DELETE until each day is re-inserted (seed option A)"
    mutations_per_day = 0

    def action(self, day: DayRow, grain: str | None) -> str:
        return "reload"  # the range delete empties every day, so every day is reloaded

    def preview(self, sink: ClickHouseSink, day: dt.date, action: str, drift: DayRow, insert: str) -> list[str]:
        return [insert.format(table=sink.table)]

    def global_steps(self, sink: ClickHouseSink, first: dt.date, last: dt.date) -> list[GlobalStep]:
        return [GlobalStep("delete range", [str(s) for s in sink.delete_range_statements(first, last)]),
                GlobalStep("wait for mutations", ["-- poll system.mutations until is_done on every shard"])]

    def prepare(self, run: Run, first: dt.date, last: dt.date, todo: list[dt.date],
                states: dict[dt.date, str]) -> None:
        """One DELETE for the whole range, after every day's source count passed the guards (a failed
        read here deletes nothing). Skipped on a resume after the delete."""
        if not todo or any(states.get(d) in ("deleted", "inserted") for d in todo):
            return
        timeline: Timeline = run.timeline
        spec = run.source.spec
        with timeline.step("Check source before the range delete"):
            counts = run.source.day_counts(first, last)
            sink_days = run.sink.day_stats(first, last)
            for day, stats in sink_days.items():
                check_guards(str(day), counts.get(day, 0), stats["distinct"], spec.min_shrink_ratio,
                             run.allow_shrink, spec.noun[1])
        with timeline.step("Bulk DELETE of the range + mutation barrier") as step:
            step.rows = sum(s["rows"] for s in sink_days.values())
            run.mutate(run.sink.delete_range_statements(first, last))
        run.journal.days_state(run.run_id, todo, "deleted")
        states.update(dict.fromkeys(todo, "deleted"))
        fault_point("deleted")  # the range is empty and no day is re-inserted yet
