"""The run journal, the run list and the lock: what a run did to each day (so a killed run resumes where it
stopped), and one writer per sink table. Kept in the sink database itself (sink/journal_store.py has
the SQL). Times are strictly increasing per process, so a day's latest state is the one with the
largest time, even from parallel day workers."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time

from ..errors import BadInput, Refused
from ..plan.model import Plan
from ..sink.base import ClickHouseSink
from ..sink.journal_store import DAYS, LOCKS, RUNS, JournalStore


def _now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")


class Journal:
    def __init__(self, sink: ClickHouseSink):
        self.sink = sink
        self.store = JournalStore(sink)
        self._lock = threading.Lock()
        self._last_ms = 0

    @property
    def table(self) -> str:
        return self.sink.table

    def ensure(self) -> None:
        self.store.ensure()

    def _stamp(self) -> int:
        with self._lock:
            self._last_ms = max(_now_ms(), self._last_ms + 1)
            return self._last_ms

    def _insert(self, table: str, rows: list[tuple]) -> None:
        with self._lock:  # day workers write the journal through this one sink
            self.store.insert(f"{self.sink.db}.{table}", rows)

    # -- runs ----------------------------------------------------------------------------------
    def start_run(self, run: str, plan: Plan, kind: str = "backfill") -> None:
        with self._lock:
            self.store.insert_run({"run": run, "customer": plan.customer or "", "sink_table": plan.sink_table,
                                   "from_day": plan.first, "to_day": plan.last, "strategy": plan.strategy,
                                   "state": "running", "at": self._next(), "detail": "",
                                   "plan": json.dumps(plan.to_json(), default=str), "spec": plan.spec,
                                   "version": plan.chsync_version, "kind": kind})

    def _next(self) -> int:
        self._last_ms = max(_now_ms(), self._last_ms + 1)
        return self._last_ms

    def run_state(self, run: str, state: str, detail: str = "") -> None:
        meta = self.run(run)
        with self._lock:
            self.store.insert_run({"run": run, "customer": meta["customer"], "sink_table": meta["sink_table"],
                                   "from_day": meta["from"], "to_day": meta["to"], "strategy": meta["strategy"],
                                   "state": state, "at": self._next(), "detail": detail, "plan": "",
                                   "spec": "", "version": "", "kind": meta["kind"]})

    def run(self, run: str) -> dict:
        rows = self.store.run(run)
        if not rows:
            raise Refused(f"no backfill run {run!r} in the journal: see `chsync runs`")
        r, customer, table, first, last, strategy, state, started, detail, plan, spec, kind = rows[0]
        return {"run": r, "customer": customer, "sink_table": table, "from": first, "to": last,
                "strategy": strategy, "state": state, "started": iso(started), "detail": detail,
                "plan": Plan.from_json(json.loads(plan), f"the plan of run {r}") if plan else None,
                "spec": spec, "kind": kind or "backfill"}

    def runs(self, kind: str | None = None) -> list[dict]:
        """This table's runs, newest first."""
        return [{"run": r, "state": state, "from": first, "to": last, "strategy": strategy,
                 "days_done": done, "started": iso(started), "customer": customer}
                for r, state, first, last, strategy, started, customer, done in self.store.runs_of(self.table, kind)]

    def latest_run(self) -> str:
        runs = self.runs("backfill")
        if not runs:
            raise Refused(f"no backfill run of {self.table} in the journal to resume")
        return runs[0]["run"]

    def check_spec(self, run: str, spec_hash: str) -> None:
        """A run resumes only under the spec it was planned with."""
        recorded = self.run(run)["spec"]
        if recorded and recorded != spec_hash:
            raise BadInput(f"run {run} was planned with another table spec (hash {recorded}, now {spec_hash}): "
                           "resume it with that spec, or plan a new backfill")

    # -- days ----------------------------------------------------------------------------------
    def day_state(self, run: str, day: dt.date, state: str, rows: int = 0, seconds: float = 0.0,
                  detail: str = "") -> None:
        self._insert(DAYS, [(run, day.isoformat(), state, self._stamp(), rows, round(seconds, 3), detail)])

    def days_state(self, run: str, days: list[dt.date], state: str, rows: int = 0, detail: str = "") -> None:
        """One state for many days in one insert (a plan's days, bulk's range delete, a month)."""
        now = self._stamp()
        self._insert(DAYS, [(run, d.isoformat(), state, now, rows, 0.0, detail) for d in days])

    def day_states(self, run: str) -> dict[dt.date, str]:
        return {dt.date.fromisoformat(d): s for d, s in self.store.day_states(run)}

    def day_events(self, run: str) -> list[dict]:
        return [{"day": d, "state": s, "at": iso(at), "rows": n, "seconds": sec, "detail": det}
                for d, s, at, n, sec, det in self.store.day_events(run)]

    def rate(self, strategy: str) -> float | None:
        """Rows per second of checked days of earlier runs with this strategy (for plan ETAs)."""
        n, seconds = self.store.rate(strategy, self.table)
        return (n / seconds) if n and seconds else None

    # -- lock ----------------------------------------------------------------------------------
    def holder(self) -> dict | None:
        found = self.store.lock_state(self.table)
        if not found or found[4]:
            return None
        run, host, pid, since, _, _ = found
        alive = _process_alive(pid) if host == socket.gethostname() else None
        return {"run": run, "host": host, "pid": pid, "since": iso(since), "alive": alive}

    def acquire(self, run: str, *, take_over: bool = False) -> None:
        held = self.holder()
        if held:
            who = f"run {held['run']} (pid {held['pid']} on {held['host']}, since {held['since']})"
            if held["alive"]:  # also a resume of that same run: two processes would write the same days
                raise Refused(f"{self.table} is locked by {who}: wait for it to finish")
            if held["run"] != run and not take_over:
                state = "whose process is gone" if held["alive"] is False else "on another host"
                raise Refused(f"{self.table} is locked by {who}, {state}: if no backfill is running, "
                              "pass --take-over (then --resume that run to finish it)")
        now = self._stamp()
        self._insert(LOCKS, [(self.table, run, socket.gethostname(), os.getpid(), now, 0, now)])

    def release(self, run: str) -> None:
        held = self.holder()
        if held and held["run"] == run:
            now = self._stamp()
            self._insert(LOCKS, [(self.table, run, socket.gethostname(), os.getpid(), now, 1, now)])


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["Journal", "RUNS", "DAYS", "LOCKS", "iso"]
