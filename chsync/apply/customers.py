"""Many customers in one run: the same job once per customer, each in its own sink database (and so its
own journal), one failing customer never stopping the others; a summary row per customer."""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

from .. import log
from ..errors import EXIT_CHECKS_FAILED, BadInput, ChsyncError
from ..sink import open_sink, sink_spec
from ..source import open_source
from ..spec import Spec


@dataclasses.dataclass
class CustomerOutcome:
    customer: str
    database: str
    status: str            # ok | refused | out-of-sync | failed
    exit_code: int
    seconds: float
    doc: dict = dataclasses.field(default_factory=dict)
    detail: str = ""

    def row(self) -> dict:
        return {"customer": self.customer, "database": self.database, "status": self.status,
                "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "days": len(self.doc.get("days", [])), "rows_written": self.doc.get("rows_written", 0),
                "detail": self.detail}


def sink_databases(spec: Spec, sink_url: str, customers: list[str]) -> dict[str, str]:
    """{customer: sink database}; refuses a layout where two customers would share a database."""
    dbs = {c: sink_spec(sink_url, spec.with_customer(c)).sink_database for c in customers}
    if len(customers) > 1 and len(set(dbs.values())) < len(customers):
        raise BadInput("several customers would share one sink database: remove [sink] database from the "
                       "config (and the /database part of a clickhouse:// sink URL) so each gets its own")
    return dbs


def run_customers(spec: Spec, source_dsn: str, sink_url: str, customers: list[str],
                  job: Callable[[object, object], tuple[dict, int]]) -> list[CustomerOutcome]:
    """job(source, sink) -> (its JSON document, its exit code), once per customer."""
    for missing, opener in ((source_dsn, open_source), (sink_url, open_sink)):
        if not missing:
            opener(missing, spec)  # raises its one-line "no source/sink given" once, not per customer
    dbs = sink_databases(spec, sink_url, customers)
    outcomes = []
    for customer in customers:
        started = time.monotonic()
        one = spec.with_customer(customer)
        source = sink = None
        try:
            source, sink = open_source(source_dsn, one), open_sink(sink_url, one)
            doc, code = job(source, sink)
            status = {0: "ok", EXIT_CHECKS_FAILED: "out-of-sync"}.get(code, "refused")
            outcome = CustomerOutcome(customer, dbs[customer], status, code, time.monotonic() - started, doc)
        except ChsyncError as e:
            outcome = CustomerOutcome(customer, dbs[customer], "failed", e.exit_code, time.monotonic() - started,
                                      detail=str(e))
        finally:
            for thing in (source, sink):
                if thing is not None:
                    thing.close()
        log.info(f"customer {customer}: {outcome.status}{': ' + outcome.detail if outcome.detail else ''}")
        outcomes.append(outcome)
    return outcomes


def worst_exit_code(outcomes: list[CustomerOutcome]) -> int:
    """A failure (4) outranks bad input (2) and a refusal (3), which outrank out-of-sync (1)."""
    rank = {0: 0, EXIT_CHECKS_FAILED: 1, 3: 2, 2: 3, 4: 4}
    return max((o.exit_code for o in outcomes), key=lambda c: rank.get(c, 5), default=0)
