"""The backfill journal, run list and lock, kept in the sink database itself (append-only tables).

Times are epoch milliseconds (UInt64) so the same tables work on servers without DateTime64.
On a cluster these are plain tables on the node chsync connects to.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time

from ..errors import Refused
from .base import ClickHouseSink


def _now_ms() -> int:
    return int(time.time() * 1000)


def _quote(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds")


class Journal:
    def __init__(self, sink: ClickHouseSink):
        self.sink = sink
        self.runs_table = f"{sink.db}.chsync_runs"
        self.days_table = f"{sink.db}.chsync_journal"
        self.locks_table = f"{sink.db}.chsync_locks"
        self._lock = threading.Lock()
        self._last_ms = 0

    def ensure(self) -> None:
        engine = "ENGINE = MergeTree ORDER BY (run, at)"
        self.sink.execute(f"CREATE TABLE IF NOT EXISTS {self.runs_table} (run String, customer String, "
                          f"sink_table String, from_day String, to_day String, strategy String, state String, "
                          f"at UInt64, detail String, plan String) {engine}")
        self.sink.execute(f"CREATE TABLE IF NOT EXISTS {self.days_table} (run String, day String, state String, "
                          f"at UInt64, rows Int64, seconds Float64, detail String) {engine}")
        self.sink.execute(f"CREATE TABLE IF NOT EXISTS {self.locks_table} (sink_table String, run String, "
                          f"host String, pid UInt32, since UInt64, released UInt8, at UInt64) "
                          f"ENGINE = MergeTree ORDER BY (sink_table, at)")

    def _stamp(self) -> int:
        """Strictly increasing times: a day's latest state is argMax(state, at), even from parallel workers."""
        with self._lock:
            self._last_ms = max(_now_ms(), self._last_ms + 1)
            return self._last_ms

    def _insert(self, table: str, values: list) -> None:
        with self._lock:  # day workers write the journal through this one sink
            self.sink.insert_rows(table, [tuple(values)])

    # -- runs ----------------------------------------------------------------------------------
    def start_run(self, run: str, plan: dict) -> None:
        self._insert(self.runs_table, [run, plan["customer"], plan["sink_table"], plan["from"], plan["to"],
                                       plan["strategy"], "running", self._stamp(), "", json.dumps(plan, default=str)])

    def run_state(self, run: str, state: str, detail: str = "") -> None:
        meta = self.run(run)
        self._insert(self.runs_table, [run, meta["customer"], meta["sink_table"], meta["from"], meta["to"],
                                       meta["strategy"], state, self._stamp(), detail, ""])

    def run(self, run: str) -> dict:
        rows = self.sink.rows(
            f"SELECT run, customer, sink_table, from_day, to_day, strategy, argMax(state, at), min(at), "
            f"argMax(detail, at), argMax(plan, length(plan)) FROM {self.runs_table} WHERE run = {_quote(run)} "
            f"GROUP BY run, customer, sink_table, from_day, to_day, strategy")
        if not rows:
            raise Refused(f"no backfill run {run!r} in the journal: see `chsync runs`")
        r, customer, table, first, last, strategy, state, started, detail, plan = rows[0]
        return {"run": r, "customer": customer, "sink_table": table, "from": first, "to": last,
                "strategy": strategy, "state": state, "started": _iso(started), "detail": detail,
                "plan": json.loads(plan) if plan else None}

    def runs(self) -> list[dict]:
        done = dict(self.sink.rows(f"SELECT run, countIf(state = 'checked') FROM (SELECT run, day, "
                                   f"argMax(state, at) AS state FROM {self.days_table} GROUP BY run, day) "
                                   f"GROUP BY run"))
        rows = self.sink.rows(f"SELECT run, argMax(state, at), any(from_day), any(to_day), any(strategy), "
                              f"min(at), any(customer) FROM {self.runs_table} GROUP BY run ORDER BY min(at) DESC")
        return [{"run": r, "state": state, "from": first, "to": last, "strategy": strategy,
                 "days_done": int(done.get(r, 0)), "started": _iso(started), "customer": customer}
                for r, state, first, last, strategy, started, customer in rows]

    def latest_run(self) -> str:
        runs = self.runs()
        if not runs:
            raise Refused("no backfill run in the journal to resume")
        return runs[0]["run"]

    # -- days ----------------------------------------------------------------------------------
    def day_state(self, run: str, day: dt.date, state: str, rows: int = 0, seconds: float = 0.0,
                  detail: str = "") -> None:
        self._insert(self.days_table, [run, day.isoformat(), state, self._stamp(), rows, round(seconds, 3), detail])

    def days_state(self, run: str, days: list[dt.date], state: str) -> None:
        """One state for many days in one insert (a plan's days, bulk's range delete)."""
        now = self._stamp()
        self.sink.insert_rows(self.days_table, [(run, d.isoformat(), state, now, 0, 0.0, "") for d in days])

    def day_states(self, run: str) -> dict[dt.date, str]:
        return {dt.date.fromisoformat(d): s for d, s in self.sink.rows(
            f"SELECT day, argMax(state, at) FROM {self.days_table} WHERE run = {_quote(run)} GROUP BY day")}

    def day_events(self, run: str) -> list[dict]:
        return [{"day": d, "state": s, "at": _iso(at), "rows": n, "seconds": sec, "detail": det}
                for d, s, at, n, sec, det in self.sink.rows(
                    f"SELECT day, state, at, rows, seconds, detail FROM {self.days_table} "
                    f"WHERE run = {_quote(run)} ORDER BY at")]

    def rate(self, strategy: str) -> float | None:
        """Rows per second of checked days of earlier runs with this strategy (for plan ETAs)."""
        rows = self.sink.rows(
            f"SELECT sum(j.rows), sum(j.seconds) FROM {self.days_table} AS j "
            f"WHERE j.state = 'checked' AND j.rows > 0 AND j.run IN "
            f"(SELECT run FROM {self.runs_table} WHERE strategy = {_quote(strategy)})")
        n, seconds = rows[0] if rows else (0, 0)
        return (n / seconds) if n and seconds else None

    # -- lock ----------------------------------------------------------------------------------
    def holder(self) -> dict | None:
        rows = self.sink.rows(f"SELECT argMax(run, at), argMax(host, at), argMax(pid, at), argMax(since, at), "
                              f"argMax(released, at), count() FROM {self.locks_table} "
                              f"WHERE sink_table = {_quote(self.sink.table)}")
        if not rows or not rows[0][5] or rows[0][4]:
            return None
        run, host, pid, since, _, _ = rows[0]
        alive = _process_alive(pid) if host == socket.gethostname() else None
        return {"run": run, "host": host, "pid": pid, "since": _iso(since), "alive": alive}

    def acquire(self, run: str, *, take_over: bool = False) -> None:
        held = self.holder()
        if held:
            who = f"run {held['run']} (pid {held['pid']} on {held['host']}, since {held['since']})"
            if held["alive"]:  # also a resume of that same run: two processes would write the same days
                raise Refused(f"{self.sink.table} is locked by {who}: wait for it to finish")
            if held["run"] != run and not take_over:
                state = "whose process is gone" if held["alive"] is False else "on another host"
                raise Refused(f"{self.sink.table} is locked by {who}, {state}: if no backfill is running, "
                              "pass --take-over (then --resume that run to finish it)")
        now = self._stamp()
        self._insert(self.locks_table, [self.sink.table, run, socket.gethostname(), os.getpid(), now, 0, now])

    def release(self, run: str) -> None:
        held = self.holder()
        if held and held["run"] == run:
            now = self._stamp()
            self._insert(self.locks_table, [self.sink.table, run, socket.gethostname(), os.getpid(), now, 1, now])


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
