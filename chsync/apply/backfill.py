"""Executes a Plan: lock, journal per day, resume, guards, mutation barrier, timeline.

Every strategy reads a day's source set (and checks the guards) before anything destructive touches
that day; every day ends with its live fingerprint checked against the source read.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time

import pyarrow as pa
import pyarrow.compute as pc

from .. import log
from ..diff import compare_day
from ..errors import ChsyncError
from ..sink.base import ClickHouseSink
from ..sink.journal import Journal
from ..sink.pull import Puller
from ..source.postgres import PostgresSource
from ..spec import KEY_COLUMN
from ..timeline import Timeline
from .barrier import wait_for_mutations
from .day_swap import check_guards, check_live, fingerprint_of, swap_day
from .faults import fault_point
from .parallel import Workers
from .progress import DayProgress


def run_and_verify(job: "Backfill", plan: dict | None = None, *, resume: str | None = None,
                   take_over: bool = False) -> dict:
    """Start (or resume) the run, then prove the range: the result with its `verify` section."""
    from ..scope import build_scope
    result = job.resume(resume, take_over=take_over) if resume else job.start(plan, take_over=take_over)
    first, last = dt.date.fromisoformat(result["from"]), dt.date.fromisoformat(result["to"])
    with job.timeline.step("Verify"):
        # After a pull run, Postgres hashes its own rows: the proof must not share the writer's SQL.
        after = build_scope(job.source, job.sink, first, last, explain=False,
                            mode="push" if job.mode == "pull" else "auto")
    result["timeline"] = job.timeline.as_list()
    result["verify"] = {"in_sync": after["in_sync"],
                        "days_out_of_sync": [d["day"] for d in after["days"] if not d["in_sync"]],
                        "duplicate_conversations": after["sink"]["duplicate_conversations"]}
    return result


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


class Backfill:
    def __init__(self, source: PostgresSource, sink: ClickHouseSink, *, allow_shrink: bool = False,
                 barrier_timeout: float = 600.0, workers: int = 1):
        self.source, self.sink = source, sink
        self.workers = workers
        self.allow_shrink = allow_shrink
        self.barrier_timeout = barrier_timeout
        self.journal = Journal(sink)
        self.timeline = Timeline()
        self.run_id = ""
        self.day_results: list[dict] = []
        self.mode = "push"
        self.puller: Puller | None = None

    # -- entry points --------------------------------------------------------------------------
    def start(self, plan: dict, *, take_over: bool = False) -> dict:
        self.journal.ensure()
        self.run_id = new_run_id()
        self.journal.acquire(self.run_id, take_over=take_over)
        self.journal.start_run(self.run_id, plan)
        return self._execute(plan, {}, fresh=True)

    def resume(self, run: str, *, take_over: bool = False) -> dict:
        self.journal.ensure()
        self.run_id = self.journal.latest_run() if run == "last" else run
        meta = self.journal.run(self.run_id)
        if meta["state"] == "finished":
            log.info(f"run {self.run_id} already finished: nothing to do")
            return self._result(meta["plan"], "finished", changed=False)
        self.journal.acquire(self.run_id, take_over=take_over)
        self.journal.run_state(self.run_id, "running", "resumed")
        states = self.journal.day_states(self.run_id)
        done = sum(1 for s in states.values() if s in ("checked", "skipped"))
        log.info(f"resuming run {self.run_id} ({meta['strategy']}): {done} of {len(states)} days already done")
        return self._execute(meta["plan"], states)

    # -- the run -------------------------------------------------------------------------------
    def _execute(self, plan: dict, states: dict[dt.date, str], *, fresh: bool = False) -> dict:
        self.mode = plan.get("mode", "push")
        self.puller = Puller(self.sink, self.source) if self.mode == "pull" else None
        try:
            if self.puller:  # the labels snapshot and the day windows, once, before any worker starts
                self.puller.plan([dt.date.fromisoformat(d["day"]) for d in plan["days"] if d["action"] != "skip"])
            if fresh:
                self.journal.days_state(self.run_id, [dt.date.fromisoformat(d["day"]) for d in plan["days"]], "planned")
                fault_point("planned")
            todo = [d for d in plan["days"] if states.get(dt.date.fromisoformat(d["day"])) not in ("checked", "skipped")]
            if plan["strategy"] == "bulk":
                self._bulk_delete(plan, todo, states)
            workers = Workers(self.source, self.sink, self.workers if plan["strategy"] == "swap" else 1)
            with self.timeline.step(f"Backfill {len(todo)} days ({plan['strategy']})") as step, \
                    DayProgress(len(todo), f"backfill {plan['strategy']}") as progress:
                workers.run(todo, lambda d: self._day(plan["strategy"], d["action"], dt.date.fromisoformat(d["day"]),
                                                      *workers.pair()),
                            lambda d, result: progress.advance(f"{d['day']} {result['action']}"))
                step.rows = sum(r["rows_written"] for r in self.day_results)
            self.journal.run_state(self.run_id, "finished")
        except BaseException as e:
            detail = str(e) if isinstance(e, ChsyncError) else f"{type(e).__name__}: {e}"
            self.journal.run_state(self.run_id, "failed", detail)
            raise
        finally:
            if self.puller:
                self.puller.close()
            self.journal.release(self.run_id)
        return self._result(plan, "finished", changed=True)

    def _result(self, plan: dict, state: str, *, changed: bool) -> dict:
        return {"run": self.run_id, "state": state, "changed": changed, "strategy": plan["strategy"],
                "from": plan["from"], "to": plan["to"], "read_window": plan["read_window"],
                "days": self.day_results, "rows_written": sum(r["rows_written"] for r in self.day_results),
                "timeline": self.timeline.as_list()}

    def _state(self, day: dt.date, state: str, rows: int = 0, seconds: float = 0.0, detail: str = "") -> None:
        self.journal.day_state(self.run_id, day, state, rows, seconds, detail)
        fault_point(state, day)

    def _day(self, strategy: str, action: str, day: dt.date, source: PostgresSource,
             sink: ClickHouseSink) -> dict:
        """One day, in this thread's (source, sink); returns its result row."""
        started = time.monotonic()
        if action == "skip":
            self._state(day, "skipped", detail="in sync when planned")
            self.day_results.append({"day": day.isoformat(), "action": "skip", "rows_written": 0, "seconds": 0.0})
            return self.day_results[-1]
        try:
            if strategy == "swap":
                done = swap_day(source, sink, day, allow_shrink=self.allow_shrink, puller=self.puller,
                                on_state=lambda state, n: self._state(day, state, n))
                written, what = done.rows_written, done.action
            elif strategy == "repair":
                written, what = self._repair_day(day)
            else:
                written, what = self._reload_day(day)
        except ChsyncError as e:
            self.journal.day_state(self.run_id, day, "failed", detail=str(e))
            raise
        seconds = time.monotonic() - started
        self._state(day, "checked", written, seconds)
        self.day_results.append({"day": day.isoformat(), "action": what, "rows_written": written,
                                 "seconds": round(seconds, 3)})
        return self.day_results[-1]

    def _read(self, day: dt.date) -> tuple[pa.Table, tuple[int, int], dict]:
        """The day's source read, and the guards, before anything destructive."""
        fault_point("read", day)
        data = self.source.read_day(day, self.sink.capabilities.time_precision)
        before = self.sink.day_stats(day, day).get(day, {"rows": 0, "distinct": 0})
        check_guards(day, data.num_rows, before["distinct"], self.source.spec.min_shrink_ratio, self.allow_shrink)
        self.sink.check_reachable()
        return data, fingerprint_of(data), before

    def _mutate(self, statements: list[str]) -> None:
        for sql in statements:
            self.sink.execute(sql)
        wait_for_mutations(self.sink, self.barrier_timeout)

    def _insert(self, day: dt.date, data: pa.Table) -> None:
        self.sink.insert_day(day, data.drop_columns(["h"]), token=f"{self.run_id}-{day}")

    # -- strategies ------------------------------------------------------------------------------
    def _reload_day(self, day: dt.date) -> tuple[int, str]:
        """Seed options A (after the range delete) and B: delete the day, wait, insert the source set.
        Whatever the day holds is deleted first, so a resumed half-done insert cannot double."""
        data, expected, before = self._read(day)
        if before["rows"]:
            self._mutate(self.sink.delete_range_statements(day, day))
        self._state(day, "deleted")
        self._insert(day, data)
        self._state(day, "inserted", data.num_rows)
        check_live(self.sink, day, expected)
        return data.num_rows, "reloaded"

    def _repair_day(self, day: dt.date) -> tuple[int, str]:
        data, expected, _ = self._read(day)
        diff = compare_day(data.select([KEY_COLUMN, "h"]), self.sink.day_hashes(day))
        source_keys = set(data.column(KEY_COLUMN).to_pylist())
        remove = sorted(set(diff.stale) | set(diff.duplicates) | set(diff.changed))
        add = sorted(set(diff.missing) | set(diff.changed) | (set(diff.duplicates) & source_keys))
        if remove:
            self._mutate(self.sink.delete_keys_statements(day, remove))
        self._state(day, "deleted", len(remove))
        rows = data.filter(pc.is_in(data.column(KEY_COLUMN), pa.array(add, pa.string())))
        self._insert(day, rows)
        self._state(day, "inserted", rows.num_rows)
        check_live(self.sink, day, expected)
        return rows.num_rows, f"repaired (-{len(remove)} +{rows.num_rows})"

    def _bulk_delete(self, plan: dict, todo: list[dict], states: dict) -> None:
        """Seed option A's first step: one DELETE for the whole range, after every day's source read
        passed the guards (a failed read here deletes nothing)."""
        if not todo or any(states.get(dt.date.fromisoformat(d["day"])) in ("deleted", "inserted") for d in todo):
            return  # resumed after the range delete
        first, last = dt.date.fromisoformat(plan["from"]), dt.date.fromisoformat(plan["to"])
        with self.timeline.step("Check source before the range delete"):
            counts = self.source.day_fingerprints(first, last, self.sink.capabilities.time_precision)
            sink_days = self.sink.day_stats(first, last)
            for day, stats in sink_days.items():
                check_guards(day, counts.get(day, (0, 0))[0], stats["distinct"],
                             self.source.spec.min_shrink_ratio, self.allow_shrink)
        with self.timeline.step("Bulk DELETE of the range + mutation barrier") as step:
            step.rows = sum(s["rows"] for s in sink_days.values())
            self._mutate(self.sink.delete_range_statements(first, last))
        days = [dt.date.fromisoformat(d["day"]) for d in todo]
        self.journal.days_state(self.run_id, days, "deleted")
        states.update(dict.fromkeys(days, "deleted"))
        fault_point("deleted")  # the range is empty and no day is re-inserted yet

