"""A backfill strategy is one object that owns its behaviour: which days it touches and how (its action
per day), the SQL a plan shows for a day, the journal states a day goes through, the read window it
implies for readers, and how it runs a day. plan/ and apply/ ask it; nothing switches on its name.

Adding a strategy: a subclass with a `name` in a new module of this package (it registers itself), plus
its tests (docs/ARCHITECTURE.md walks through one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import pyarrow as pa

from ..sink.base import ClickHouseSink, Statement
from .partition import Unit

if TYPE_CHECKING:
    from ..scope import DayRow
    from ..source.postgres import PostgresSource


@dataclasses.dataclass(frozen=True)
class GlobalStep:
    """A step that acts on the whole range at once, before any day (bulk's range delete)."""
    step: str
    sql: list[str]


class Writer(Protocol):
    """What changing a day's rows needs: the source (for its spec), journal states, mutations with their
    barrier, inserts, and the final check (a backfill, or the daily sync on month partitions)."""
    source: Any

    def state(self, unit: Unit, state: str, rows: int = 0, *, detail: str = "") -> None: ...

    def mutate(self, statements: list[Statement]) -> None: ...

    def insert(self, day: dt.date, data: pa.Table) -> None: ...

    def check_live(self, day: dt.date, expected: tuple[int, int]) -> None: ...


class Run(Writer, Protocol):
    """What a running backfill offers a strategy (apply/backfill.py)."""
    sink: Any
    puller: Any
    allow_shrink: bool
    batch_rows: int
    run_id: str
    journal: Any
    timeline: Any

    def read(self, day: dt.date) -> tuple[pa.Table, tuple[int, int], tuple[int, int]]: ...

    def proved(self, unit: Unit, expected: tuple[int, int]) -> None:
        """The unit's live rows were found equal to Postgres's fingerprint `expected` (rows, hash sum)."""


REGISTERED: list[type[Strategy]] = []


class Strategy:
    name: ClassVar[str]
    rank: ClassVar[int] = 100            # where --help lists it (lower first)
    states: ClassVar[list[str]]          # journal states of a day, in order
    read_window: ClassVar[str]           # what readers may see while it runs
    pulls: ClassVar[bool] = False        # the sink may read the rows from Postgres itself (pull mode)
    parallel: ClassVar[bool] = False     # days may run at once (--workers)
    grains: ClassVar[tuple[str, ...] | None] = None   # the partition grains it needs, None for any
    mutations_per_day: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            REGISTERED.append(cls)

    # -- planning ------------------------------------------------------------------------------
    def action(self, day: DayRow, grain: str | None) -> str:
        """What happens to a day of the plan: "skip" when in sync, else the strategy's own verb."""
        raise NotImplementedError

    def units(self, days: list[dt.date], grain: str | None) -> list[Unit]:
        """The pieces the days run in: a day each, unless the strategy replaces whole months."""
        return [Unit(d, d) for d in days]

    def preview(self, sink: ClickHouseSink, day: dt.date, action: str, drift: DayRow, insert: str) -> list[str]:
        """The SQL a plan shows for the day; `insert` describes the insert of the day's source set (with a
        {table} slot)."""
        raise NotImplementedError

    def global_steps(self, sink: ClickHouseSink, first: dt.date, last: dt.date) -> list[GlobalStep]:
        return []

    def eta(self, drift: DayRow, action: str, rate: float, mutation_seconds: float) -> float:
        if action == "skip":
            return 0.0
        return drift.source / rate + self.mutations_per_day * mutation_seconds

    # -- running -------------------------------------------------------------------------------
    def prepare(self, run: Run, first: dt.date, last: dt.date, todo: list[dt.date],
                states: dict[dt.date, str]) -> None:
        """Before the first day (and again on resume)."""

    def run_unit(self, run: Run, unit: Unit, action: str, source: PostgresSource,
                 sink: ClickHouseSink) -> tuple[int, str]:
        """Change the unit's days in the sink, through this thread's `source` and `sink`; returns (rows
        written, what was done). The unit's live fingerprint has been checked against the source read
        when this returns."""
        raise NotImplementedError
