"""Many targets in one run: the same job once per (table, customer), each in its own sink table (and so its
own journal rows and lock), one failing target never stopping the others; a summary row per target, and
the worst outcome as the exit code."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import log
from ..errors import EXIT_CHECKS_FAILED, BadInput, ChsyncError
from ..sink import open_sink, sink_spec
from ..source import open_source
from ..spec.model import TableSpec

if TYPE_CHECKING:
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource


@dataclasses.dataclass
class Outcome:
    spec: TableSpec
    table: str
    customer: str | None
    database: str
    status: str            # ok | refused | out-of-sync | failed
    exit_code: int
    seconds: float
    doc: dict = dataclasses.field(default_factory=dict)
    detail: str = ""

    @property
    def name(self) -> str:
        return self.customer if self.customer is not None else self.table

    def row(self) -> dict:
        return {"table": self.table, "customer": self.customer, "database": self.database, "status": self.status,
                "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "days": len(self.doc.get("days", [])), "rows_written": self.doc.get("rows_written", 0),
                "detail": self.detail}


def targets(specs: list[TableSpec], customers: list[str] | None) -> list[TableSpec]:
    """One resolved spec per (table, customer)."""
    if customers is None:
        return specs
    return [s.with_customer(c) for s in specs for c in customers]


def check_layout(specs: list[TableSpec], sink_url: str) -> list[str]:
    """Each target's sink table; refuses a layout where two targets would write one sink table."""
    tables = [f"{sink_spec(sink_url, s).sink_database}.{s.sink.table}" for s in specs]
    if len(set(tables)) < len(specs):
        raise BadInput("several customers would share one sink database: remove [sink] database from the "
                       "config (and the /database part of a clickhouse:// sink URL) so each gets its own")
    return tables


def run_targets(specs: list[TableSpec], source_dsn: str | None, sink_url: str | None,
                job: Callable[[PostgresSource, ClickHouseSink], tuple[dict, int]]) -> list[Outcome]:
    """job(source, sink) -> (its JSON document, its exit code), once per target."""
    for missing, opener in ((source_dsn, open_source), (sink_url, open_sink)):
        if not missing:
            opener(missing, specs[0])  # raises its one-line "no source/sink given" once, not per target
    assert sink_url is not None
    tables = check_layout(specs, sink_url)
    outcomes = []
    for spec, table in zip(specs, tables):
        started = time.monotonic()
        database = table.split(".")[0]
        source = sink = None
        try:
            source, sink = open_source(source_dsn, spec), open_sink(sink_url, spec)
            doc, code = job(source, sink)
            status = {0: "ok", EXIT_CHECKS_FAILED: "out-of-sync"}.get(code, "refused")
            outcome = Outcome(spec, spec.name, spec.customer, database, status, code, time.monotonic() - started,
                              doc)
        except ChsyncError as e:
            outcome = Outcome(spec, spec.name, spec.customer, database, "failed", e.exit_code,
                              time.monotonic() - started, detail=str(e))
        finally:
            for thing in (source, sink):
                if thing is not None:
                    thing.close()
        log.info(f"{outcome.name}: {outcome.status}{': ' + outcome.detail if outcome.detail else ''}")
        outcomes.append(outcome)
    return outcomes


def worst_exit_code(outcomes: list[Outcome]) -> int:
    """A failure (4) outranks bad input (2) and a refusal (3), which outrank out-of-sync (1)."""
    rank = {0: 0, EXIT_CHECKS_FAILED: 1, 3: 2, 2: 3, 4: 4}
    return max((o.exit_code for o in outcomes), key=lambda c: rank.get(c, 5), default=0)
