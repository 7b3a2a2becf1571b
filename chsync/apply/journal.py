"""The run journal, the run list and the lock: what a run did to each day (so a killed run resumes where it
stopped), and one writer per sink table. Kept in the sink database itself (sink/journal_store.py has
the SQL). Times are strictly increasing per process, so a day's latest state is the one with the
largest time, even from parallel day workers."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import threading
import time

from .. import log
from ..errors import BadInput, ChsyncError, Refused
from ..faults import fault_point
from ..plan.model import Plan
from ..sink.base import ClickHouseSink
from ..sink.journal_store import DAYS, LOCKS, RUNS, JournalStore

# A claim still choosing its ticket after this long belongs to a process that died while choosing.
CHOOSING_SECONDS = 10.0


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
        self._claim: tuple[str, str] | None = None   # (run, claim) of the lock this process holds

    @property
    def table(self) -> str:
        return self.sink.table

    def ensure(self) -> None:
        require_writable(self.sink)
        self.store.ensure()

    def _stamp(self) -> int:
        with self._lock:
            self._last_ms = max(_now_ms(), self._last_ms + 1)
            return self._last_ms

    def stamp(self) -> int:
        """Epoch milliseconds, increasing within this process (the ledger's times too)."""
        return self._stamp()

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

    def prune(self, keep_days: int) -> None:
        """Forget runs older than `keep_days` (whole months of them)."""
        cutoff = dt.date.today() - dt.timedelta(days=keep_days)
        self.store.prune(cutoff.year * 100 + cutoff.month)

    def last_in_sync(self) -> float | None:
        """When a run of this table last ended with every day it touched in sync (Unix time)."""
        return self.store.last_in_sync(self.table)

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
    # One writer per sink table, by Lamport's bakery over the lock table: a claim states its intent, takes a
    # ticket one above every ticket it can see, waits while another claim is still choosing, and wins when
    # its (ticket, claim) is the smallest of the claims not released. Lock rows are written and read
    # linearizably (journal_store.py), so two processes racing, through one node or two, get one winner.

    def _lock_state(self) -> tuple[dict[tuple[str, str], dict], set[tuple[str, str]]]:
        """(claims by (run, claim): their rows merged, the released ones)."""
        claims: dict[tuple[str, str], dict] = {}
        released: set[tuple[str, str]] = set()
        for row in self.store.lock_rows(self.table):
            key = (row["run"], row["claim"])
            if row["phase"] == "release" or (not row["phase"] and row["released"]):
                released.add(key)
                continue
            claim = claims.setdefault(key, {"run": row["run"], "claim": row["claim"], "host": row["host"],
                                            "pid": row["pid"], "since": row["since"], "ticket": None,
                                            "intent_at": row["at"]})
            if row["phase"] == "ticket" or not row["phase"]:   # rows of earlier versions hold ticket 0
                claim["ticket"] = int(row["ticket"])
        return claims, released

    @staticmethod
    def _winner(claims: dict, released: set) -> dict | None:
        ticketed = [c for k, c in claims.items() if k not in released and c["ticket"] is not None]
        return min(ticketed, key=lambda c: (c["ticket"], c["claim"])) if ticketed else None

    def holder(self) -> dict | None:
        held = self._winner(*self._lock_state())
        if held is None:
            return None
        alive = _process_alive(held["pid"]) if held["host"] == socket.gethostname() else None
        return {"run": held["run"], "host": held["host"], "pid": held["pid"], "since": iso(held["since"]),
                "alive": alive, "claim": held["claim"]}

    def _lock_row(self, run: str, claim: str, phase: str, ticket: int = 0, since: int | None = None) -> None:
        now = self._stamp()
        self.store.insert_lock({"sink_table": self.table, "run": run, "host": socket.gethostname(),
                                "pid": os.getpid(), "since": since or now, "released": int(phase == "release"),
                                "at": now, "claim": claim, "ticket": ticket, "phase": phase})

    def acquire(self, run: str, *, take_over: bool = False, what: str = "backfill") -> None:
        """Take the table's lock for `run`, or raise Refused naming who holds it."""
        require_writable(self.sink)
        fault_point("lock")
        held = self.holder()
        if held:
            self._refuse_or_free(held, run, take_over, what)
        claim = secrets.token_hex(8)
        since = self._stamp()
        self._lock_row(run, claim, "intent", since=since)
        claims, _ = self._lock_state()
        ticket = 1 + max((c["ticket"] or 0 for c in claims.values()), default=0)
        self._lock_row(run, claim, "ticket", ticket, since)
        deadline = time.monotonic() + CHOOSING_SECONDS
        while True:
            claims, released = self._lock_state()
            choosing = [c for k, c in claims.items() if k not in released and c["ticket"] is None
                        and c["claim"] != claim and _now_ms() - c["intent_at"] < CHOOSING_SECONDS * 1000]
            if not choosing or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        winner = self._winner(claims, released)
        if winner is not None and winner["claim"] == claim:
            self._claim = (run, claim)
            return
        self._lock_row(run, claim, "release")
        assert winner is not None
        who = f"run {winner['run']} (pid {winner['pid']} on {winner['host']}, since {iso(winner['since'])})"
        raise Refused(f"{self.table} is locked by {who}: wait for it to finish")

    def check_free(self, run: str = "", *, take_over: bool = False, what: str = "backfill") -> None:
        """Refuse early (before planning) when another writer holds the lock; writes nothing."""
        held = self.holder()
        if held and (held["alive"] or (held["run"] != run and not take_over)):
            self._refuse_or_free(held, run, take_over, what)

    def _refuse_or_free(self, held: dict, run: str, take_over: bool, what: str) -> None:
        """A live holder refuses; a dead one's lock is released when the caller may take it over."""
        who = f"run {held['run']} (pid {held['pid']} on {held['host']}, since {held['since']})"
        if held["alive"]:  # also a resume of that same run: two processes would write the same days
            raise Refused(f"{self.table} is locked by {who}: wait for it to finish")
        if held["run"] != run and not take_over:
            state = "whose process is gone" if held["alive"] is False else "on another host"
            raise Refused(f"{self.table} is locked by {who}, {state}: if no {what} is running, pass --take-over "
                          "(then --resume that run to finish it)")
        self._lock_row(held["run"], held["claim"], "release")

    def fail(self, run: str, detail: str) -> None:
        """Record that `run` failed and release its lock, as far as the sink still lets us: the error that
        ended the run is what the user must see, so a journal write that fails now is only reported (a run
        left "running" is resumed like a failed one; its lock is taken over)."""
        for step in (lambda: self.run_state(run, "failed", detail), lambda: self.release(run)):
            try:
                step()
            except ChsyncError as e:
                log.info(f"the journal could not record the failure of run {run}: {e}")

    def release(self, run: str) -> None:
        claim = self._claim
        if claim is not None and claim[0] == run:
            self._lock_row(run, claim[1], "release")
            self._claim = None
            return
        held = self.holder()
        if held and held["run"] == run and held["pid"] == os.getpid():
            self._lock_row(run, held["claim"], "release")


def require_writable(sink: ClickHouseSink) -> None:
    """A sink chsync must not write to at all is refused before anything is written (bad input)."""
    problem = sink.unsafe_for_writes
    if problem:
        raise BadInput(problem)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["Journal", "RUNS", "DAYS", "LOCKS", "iso", "require_writable"]
