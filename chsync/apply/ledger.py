"""The ledger: for every day of a table (and customer), when chsync last proved it equal to Postgres (a
verify, the daily job's check, a swap or a backfill), with the rows and fingerprint it was proven at; and
when drift was last found there, and healed. The sweep reads it to pick the days least recently proven,
so that every day of the table's history is proven again within a known number of nights; `chsync
history` draws it. Rows live in the sink beside the journal (sink/journal_store.py), replicated with it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..schemas import tagged
from .journal import Journal

if TYPE_CHECKING:
    from ..scope import Scope
    from ..sink.base import ClickHouseSink
    from ..spec.model import TableSpec

PROVEN, DRIFTED, HEALED = "proven", "drifted", "healed"


@dataclasses.dataclass(frozen=True)
class DayProof:
    day: dt.date
    proven_at: float | None        # Unix seconds of the last proof; None: never proven
    rows: int                      # the rows it was proven at
    drifted_at: float | None       # last time drift was found on it
    healed_at: float | None        # last time chsync rewrote it because it had drifted
    proven_in: float | None = None  # when the run of its last proof started (days one run proved: equally old)

    @property
    def state(self) -> str:
        """never | drifted (found, not proven since) | healed (proven since a heal) | proven."""
        if self.drifted_at and (self.proven_at is None or self.drifted_at > self.proven_at):
            return "drifted"
        if self.proven_at is None:
            return "never"
        return "healed" if self.healed_at else "proven"

    def age(self, now: float) -> float | None:
        return None if self.proven_at is None else max(0.0, now - self.proven_at)


NEVER = DayProof(dt.date.min, None, 0, None, None)


class Ledger:
    def __init__(self, journal: Journal, customer: str | None):
        self.journal = journal
        self.customer = customer or ""

    def record(self, outcome: str, days: dict[dt.date, tuple[int, int]] | Iterable[dt.date], how: str,
               run: str = "") -> None:
        """`days`: {day: (rows, hash sum)} as proven, or just the days (drift found, healed)."""
        prints = days if isinstance(days, dict) else dict.fromkeys(days, (0, 0))
        if not prints:
            return
        at = self.journal.stamp()
        self.journal.store.insert_proofs([
            {"sink_table": self.journal.table, "customer": self.customer, "day": day.isoformat(), "at": at,
             "outcome": outcome, "rows": int(rows), "hash": int(hash_sum), "how": how, "run": run}
            for day, (rows, hash_sum) in sorted(prints.items())])

    def proofs(self) -> dict[dt.date, DayProof]:
        """Every day with a record; {} before the first run made the ledger."""
        if not self.journal.sink.table_exists(self.journal.store.proofs):
            return {}

        def seconds(ms: int | None) -> float | None:
            return int(ms) / 1000 if ms else None
        return {dt.date.fromisoformat(day): DayProof(dt.date.fromisoformat(day), seconds(proven), int(rows or 0),
                                                     seconds(drifted), seconds(healed),
                                                     run_started(run) or seconds(proven))
                for day, proven, rows, drifted, healed, run in self.journal.store.proofs_of(self.journal.table,
                                                                                          self.customer)}


def run_started(run: str | None) -> float | None:
    """When a run started, from its id (…20261207T215040Z-ab12); None without one."""
    m = re.search(r"(\d{8}T\d{6})Z", run or "")
    return dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC).timestamp() if m else None


def least_recently_proven(proofs: dict[dt.date, DayProof], candidates: Iterable[dt.date], k: int) -> list[dt.date]:
    """The `k` candidate days proven longest ago: never proven first (earliest day first), then by when the
    run of their last proof started, earliest day first among days one run proved (its workers finish them
    in any order: the choice must not depend on that)."""
    def order(day: dt.date) -> tuple[bool, float, dt.date]:
        proof = proofs.get(day, NEVER)
        return (proof.proven_at is not None, proof.proven_in or proof.proven_at or 0.0, day)
    return sorted(sorted(set(candidates), key=order)[:k])


@dataclasses.dataclass(frozen=True)
class ProofSummary:
    days: int
    days_never_proven: int
    oldest_proof_age_seconds: float | None    # over the days proven at least once

    def to_json(self) -> dict:
        return {"days_in_history": self.days, "days_never_proven": self.days_never_proven,
                "oldest_proof_age_seconds": None if self.oldest_proof_age_seconds is None
                else round(self.oldest_proof_age_seconds, 3)}


def summarize(proofs: dict[dt.date, DayProof], days: list[dt.date], now: float | None = None) -> ProofSummary:
    now = time.time() if now is None else now
    ages = [age for day in days if (age := proofs.get(day, NEVER).age(now)) is not None]
    return ProofSummary(len(days), len(days) - len(ages), max(ages) if ages else None)


def record_verify(sink: ClickHouseSink, scope: Scope) -> None:
    """A verify's outcome into the ledger: each day in sync proven (at Postgres's fingerprint, which the
    sink's equalled), each other day drifted. Nothing where chsync may not write at all."""
    if sink.unsafe_for_writes:
        return
    journal = Journal(sink)
    journal.ensure()
    ledger = Ledger(journal, scope.customer)
    ledger.record(PROVEN, {d.day: scope.fingerprints.get(d.day, (0, 0)) for d in scope.days if d.in_sync}, "verify")
    ledger.record(DRIFTED, [d.day for d in scope.days if not d.in_sync], "verify")


def history_days(sink: ClickHouseSink, spec: TableSpec, last: dt.date) -> list[dt.date]:
    """Every day of the table's history up to `last`: from `[sync] history_from`, else the sink's first day."""
    span = sink.day_span()
    first = spec.history_from or (span[0] if span else None)
    if first is None or first > last:
        return []
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@dataclasses.dataclass(frozen=True)
class History:
    """Every day of a table's history with its last proof: what `chsync history` shows."""
    table: str
    customer: str | None
    days: tuple[DayProof, ...]
    summary: ProofSummary
    now: float

    def to_json(self) -> dict:
        def iso(seconds: float | None) -> str | None:
            return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(
                timespec="seconds")
        days = [{"day": p.day.isoformat(), "state": p.state, "last_proven": iso(p.proven_at),
                 "proof_age_seconds": None if p.proven_at is None else round(p.age(self.now) or 0.0, 3),
                 "rows": p.rows, "last_drift": iso(p.drifted_at), "last_healed": iso(p.healed_at)}
                for p in self.days]
        return tagged("history", {"table": self.table, "customer": self.customer, "now": iso(self.now),
                                  "from": days[0]["day"] if days else None, "to": days[-1]["day"] if days else None,
                                  **self.summary.to_json(), "days": days})


def history(sink: ClickHouseSink, spec: TableSpec, now: float | None = None) -> History:
    """The table's history: from `[sync] history_from` (else its first day) to the later of its last day
    and the last day with a record in the ledger."""
    now = time.time() if now is None else now
    proofs = Ledger(Journal(sink), spec.customer).proofs()
    span = sink.day_span()
    last = max([*(proofs or {}), *(span[1:] if span else [])], default=None)
    days = history_days(sink, spec, last) if last else []
    return History(sink.table, spec.customer,
                   tuple(dataclasses.replace(proofs.get(d, NEVER), day=d) for d in days),
                   summarize(proofs, days, now), now)


__all__ = ["Ledger", "DayProof", "ProofSummary", "History", "history", "least_recently_proven", "summarize",
           "history_days", "record_verify",
           "PROVEN", "DRIFTED", "HEALED"]
