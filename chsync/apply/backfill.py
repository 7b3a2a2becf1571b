"""Executes a Plan: lock, journal per day, resume, guards, mutation barrier, timeline. What happens to a
day is the strategy's business (strategies/); this runner gives it the day's source read, the journal
and the sink, in order or with day workers.

Every strategy reads a day's source set (and checks the guards) before anything destructive touches
that day; every day ends with its live fingerprint checked against the source read.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

import pyarrow as pa

from .. import log
from ..dates import day_range
from ..errors import BadInput, ChsyncError, RuntimeFailure
from ..faults import fault_point
from ..plan.model import Plan
from ..schemas import tagged
from ..sink.base import ClickHouseSink, Statement
from ..source.postgres import PostgresSource
from ..source.sql import HASH
from ..strategies import Strategy
from ..strategies import get as get_strategy
from ..strategies.partition import BATCH_ROWS, Unit, check_guards, check_live, fingerprint_of
from ..timeline import Timeline
from .barrier import wait_for_mutations
from .journal import Journal
from .ledger import HEALED, PROVEN, Ledger
from .parallel import Workers
from .progress import DayProgress

DONE = ("checked", "skipped")


def run_and_verify(job: Backfill, plan: Plan | None = None, *, resume: str | None = None,
                   take_over: bool = False) -> dict:
    """Start (or resume) the run, then prove the range: the result with its `verify` section."""
    if resume:
        result = job.resume(resume, take_over=take_over)
    else:
        assert plan is not None
        result = job.start(plan, take_over=take_over)
    first, last = dt.date.fromisoformat(result["from"]), dt.date.fromisoformat(result["to"])
    with job.timeline.step("Verify"):
        out_of_sync, duplicated, live = final_proof(job, first, last)
        _record_proofs(job, first, last, out_of_sync, live, result["run"])
    result["timeline"] = job.timeline.as_list()
    in_sync = not out_of_sync
    if in_sync and result["changed"]:
        job.journal.run_state(result["run"], "finished", "in sync")
    result["verify"] = {"in_sync": in_sync, "days_out_of_sync": [d.isoformat() for d in out_of_sync],
                        "duplicate_keys": duplicated}
    return tagged("backfill", result)


def final_proof(job: Backfill, first: dt.date, last: dt.date) -> tuple[list[dt.date], int, dict]:
    """(days out of sync, duplicated keys, the sink's day_stats) of the range after the run. Every
    fingerprint compared with the sink's comes from Postgres's own SQL: for the units this process
    changed, the one their live rows were checked against right after the change (reading Postgres a
    third time would prove nothing more); for every other day (in sync when planned, or done by an
    earlier process) Postgres computes it now, per day, in one query."""
    sink, source = job.sink, job.source
    lo = min([first, *(u.first for u in job.proven)])
    hi = max([last, *(u.last for u in job.proven)])      # a month unit may reach past the range
    live = sink.day_stats(lo, hi)
    proven_days = {d for unit in job.proven for d in unit.days()}
    others = [d for d in day_range(first, last) if d not in proven_days]
    expected: dict[tuple[dt.date, dt.date], tuple[int, int]] = {
        (u.first, u.last): fp for u, fp in job.proven.items()}
    if others:
        fresh = source.day_fingerprints(min(others), max(others), sink.capabilities.time_precision)
        expected.update({(d, d): fresh.get(d, (0, 0)) for d in others})
    out: set[dt.date] = set()
    for (a, b), (rows, hash_sum) in expected.items():
        days = [live[d] for d in day_range(a, b) if d in live]
        found = (sum(s["rows"] for s in days), sum(s["hash_sum"] for s in days) % (1 << 64))
        if found != (rows, hash_sum) or any(s["duplicates"] for s in days):
            out.update(d for d in day_range(a, b) if first <= d <= last)
    return sorted(out), sink.range_totals(first, last)["duplicate_keys"], live


def _record_proofs(job: Backfill, first: dt.date, last: dt.date, out_of_sync: list[dt.date],
                   live: dict[dt.date, dict], run: str) -> None:
    """The ledger: the days this run rewrote were healed; every day of the range found in sync is proven,
    at the live rows and fingerprint final_proof compared with Postgres's."""
    ledger = Ledger(job.journal, job.source.spec.customer)
    rewritten = sorted(d for unit in job.proven for d in unit.days() if first <= d <= last)
    ledger.record(HEALED, rewritten, "backfill", run)
    ledger.record(PROVEN, {d: (live[d]["rows"], live[d]["hash_sum"]) if d in live else (0, 0)
                           for d in day_range(first, last) if d not in out_of_sync}, "backfill", run)


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


class Backfill:
    def __init__(self, source: PostgresSource, sink: ClickHouseSink, *, allow_shrink: bool = False,
                 barrier_timeout: float = 600.0, workers: int | None = None, batch_rows: int = BATCH_ROWS):
        self.source, self.sink = source, sink
        self.batch_rows = batch_rows
        self.workers = workers
        self.allow_shrink = allow_shrink
        self.barrier_timeout = barrier_timeout
        self.journal = Journal(sink)
        self.timeline = Timeline()
        self.run_id = ""
        self.day_results: list[dict] = []
        self.mode = "push"
        self.puller: Any = None
        # Units whose live rows this process found equal to Postgres's fingerprint of them, right after
        # changing them: the final proof need not read them from Postgres again.
        self.proven: dict[Unit, tuple[int, int]] = {}

    # -- entry points --------------------------------------------------------------------------
    def start(self, plan: Plan, *, take_over: bool = False) -> dict:
        if plan.spec and plan.spec != self.sink.spec.fingerprint:
            raise BadInput(f"the plan was made with another table spec (hash {plan.spec}, now "
                           f"{self.sink.spec.fingerprint}): make a new one with `chsync plan`")
        if plan.sink_table != self.sink.table:
            raise BadInput(f"the plan is for {plan.sink_table}, not {self.sink.table}: make a new one with "
                           "`chsync plan`")
        self.journal.ensure()
        self.run_id = new_run_id()
        self.journal.acquire(self.run_id, take_over=take_over)
        self.journal.start_run(self.run_id, plan)
        return self._execute(plan, {}, fresh=True)

    def resume(self, run: str, *, take_over: bool = False) -> dict:
        self.journal.ensure()
        self.run_id = self.journal.latest_run() if run == "last" else run
        meta = self.journal.run(self.run_id)
        self.journal.check_spec(self.run_id, self.sink.spec.fingerprint)
        if meta["state"] == "finished":
            log.info(f"run {self.run_id} already finished: nothing to do")
            return self._result(meta["plan"], "finished", changed=False)
        self.journal.acquire(self.run_id, take_over=take_over)
        self.journal.run_state(self.run_id, "running", "resumed")
        states = self.journal.day_states(self.run_id)
        done = sum(1 for s in states.values() if s in DONE)
        log.info(f"resuming run {self.run_id} ({meta['strategy']}): {done} of {len(states)} days already done")
        return self._execute(meta["plan"], states)

    # -- the run -------------------------------------------------------------------------------
    def _execute(self, plan: Plan, states: dict[dt.date, str], *, fresh: bool = False) -> dict:
        strategy = get_strategy(plan.strategy)
        grain = self.sink.capabilities.partition_grain
        self.mode = plan.mode
        self.sink.stage_suffix = "_" + self.run_id.rsplit("-", 1)[-1]
        try:
            if self.mode == "pull":
                from ..pull.reader import Puller
                self.puller = Puller(self.sink, self.source)
            days = [dt.date.fromisoformat(d.day) for d in plan.days]
            actions = {dt.date.fromisoformat(d.day): d.action for d in plan.days}
            if fresh:
                self.journal.days_state(self.run_id, days, "planned")
                fault_point("planned")
            todo = [d for d in days if states.get(d) not in DONE]
            units = strategy.units(todo, grain)
            if self.puller:  # the snapshots and the windows, once, before any worker starts
                self.puller.plan([(u.first, u.last) for u in units if actions[u.first] != "skip"])
            first, last = dt.date.fromisoformat(plan.first), dt.date.fromisoformat(plan.last)
            strategy.prepare(self, first, last, todo, states)
            workers = Workers(self.source, self.sink, self.workers if strategy.parallel else 1)
            with self.timeline.step(f"Backfill {len(todo)} days ({plan.strategy})") as step, \
                    DayProgress(len(todo), f"backfill {plan.strategy}") as progress:
                workers.run(units, lambda u: self._unit(strategy, actions[u.first], u, *workers.pair()),
                            lambda u, result: progress.advance(f"{u.label} {result['action']}", len(u.days())))
                step.rows = sum(r["rows_written"] for r in self.day_results)
            self.journal.run_state(self.run_id, "finished")
        except BaseException as e:
            if self.puller:
                self.puller.close()
            self.journal.fail(self.run_id, str(e) if isinstance(e, ChsyncError) else f"{type(e).__name__}: {e}")
            raise
        if self.puller:
            self.puller.close()
        self.journal.release(self.run_id)
        return self._result(plan, "finished", changed=True)

    def _result(self, plan: Plan, state: str, *, changed: bool) -> dict:
        return {"run": self.run_id, "state": state, "changed": changed, "strategy": plan.strategy,
                "from": plan.first, "to": plan.last, "read_window": plan.read_window,
                "days": sorted(self.day_results, key=lambda r: r["day"]),   # workers finish in any order
                "rows_written": sum(r["rows_written"] for r in self.day_results),
                "timeline": self.timeline.as_list()}

    def _unit(self, strategy: Strategy, action: str, unit: Unit, source: PostgresSource, sink: ClickHouseSink) -> dict:
        """One unit (a day, or a month), in this thread's (source, sink); returns its result row."""
        started = time.monotonic()
        if action == "skip":
            self.state(unit, "skipped", detail="in sync when planned")
            self.day_results.append({"day": unit.label, "action": "skip", "rows_written": 0, "seconds": 0.0})
            return self.day_results[-1]
        try:
            written, what = strategy.run_unit(self, unit, action, source, sink)
        except ChsyncError as e:
            self.state(unit, "failed", detail=str(e), point=False)
            raise
        seconds = time.monotonic() - started
        self.state(unit, "checked", written, seconds=seconds)
        self.day_results.append({"day": unit.label, "action": what, "rows_written": written,
                                 "seconds": round(seconds, 3)})
        return self.day_results[-1]

    # -- what a strategy is given (strategies/base.py, Run) ------------------------------------
    def state(self, unit: Unit, state: str, rows: int = 0, *, seconds: float = 0.0, detail: str = "",
              point: bool = True) -> None:
        if unit.first == unit.last:
            self.journal.day_state(self.run_id, unit.first, state, rows, seconds, detail)
        else:
            self.journal.days_state(self.run_id, unit.days(), state, rows, detail)
        if point:
            fault_point(state, unit.first)

    def read(self, day: dt.date) -> tuple[pa.Table, tuple[int, int], tuple[int, int]]:
        """The day's source read, and the guards, before anything destructive: (rows, expected
        fingerprint, (sink rows, sink distinct) before)."""
        fault_point("read", day)
        data = self.source.read_day(day, self.sink.capabilities.time_precision)
        before = self.sink.day_stats(day, day).get(day, {"rows": 0, "distinct": 0})
        spec = self.source.spec
        check_guards(str(day), data.num_rows, before["distinct"], spec.min_shrink_ratio, self.allow_shrink,
                     spec.noun[1])
        self.sink.check_reachable()
        return data, fingerprint_of(data), (before["rows"], before["distinct"])

    def mutate(self, statements: list[Statement]) -> None:
        self.sink.run(statements)
        wait_for_mutations(self.sink, self.barrier_timeout)

    def insert(self, day: dt.date, data: pa.Table) -> None:
        self.sink.insert_day(day, data.drop_columns([HASH]), token=f"{self.run_id}-{day}")

    def check_live(self, day: dt.date, expected: tuple[int, int]) -> None:
        check_live(self.sink, Unit(day, day), expected)
        self.proved(Unit(day, day), expected)

    def proved(self, unit: Unit, expected: tuple[int, int]) -> None:
        self.proven[unit] = expected


__all__ = ["Backfill", "run_and_verify", "new_run_id", "RuntimeFailure"]
