"""chsync as a library: one typed function per command (scope, diff, plan, backfill, sync, verify,
history), each returning a frozen result with the key figures as fields and the JSON document the CLI
prints as `document`. The CLI and the Airflow operator are renderers of these results.

Every function takes the table spec (a TOML file's path, a loaded TableSpec, or None for the shipped seed
spec) and the source and sink, each a URL or an object already opened (which the caller keeps and closes).
Errors are chsync.errors' exceptions, each with its exit code: BadInput (2), Refused (3), RuntimeFailure (4).
A result's `exit_code` says the rest: 0 all is well, 1 the checks found drift, 3 a guard refused a day.

Nothing here changes the process on import; `configure_runtime()` is the one call that does (the CLI makes
it when a command starts; a long-lived host such as an Airflow worker may choose not to).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from . import memory
from .errors import EXIT_CHECKS_FAILED, EXIT_OK, EXIT_REFUSED, BadInput
from .plan.model import Plan
from .spec import load_specs
from .spec.model import TableSpec
from .spec.params import ParamValue

if TYPE_CHECKING:
    from .apply.sync import SyncRequest
    from .sink.base import ClickHouseSink
    from .source.postgres import PostgresSource

SpecLike: TypeAlias = "str | os.PathLike[str] | TableSpec | None"
SourceLike: TypeAlias = "str | PostgresSource | None"
SinkLike: TypeAlias = "str | ClickHouseSink | None"
Day: TypeAlias = "str | dt.date"
Document: TypeAlias = Mapping[str, Any]

MODES = ("push", "pull", "auto")


def configure_runtime() -> None:
    """Process-wide tuning, once, before any thread allocates: Arrow's buffers from the system allocator
    and glibc capped at two arenas (memory.py says why). The chDB sink sets libpq's session variables
    (PGTZ, PGDATESTYLE) itself when a command pulls, since its in-process postgresql() needs them then."""
    memory.configure()


# -- results ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, kw_only=True)
class Result:
    """What every command returns: its exit code (0 ok, 1 checks failed, 3 a guard refused a day) and the
    JSON document `chsync <command> --json` prints."""
    exit_code: int
    document: Document = dataclasses.field(repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScopeResult(Result):
    first: dt.date
    last: dt.date
    in_sync: bool
    source_rows: int
    sink_rows: int
    sink_distinct: int
    duplicate_keys: int                      # keys held more than once by the sink (sink.duplicate_keys)
    missing: int
    stale: int
    changed: int
    days_out_of_sync: tuple[dt.date, ...]
    mode: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class DiffResult(Result):
    first: dt.date
    last: dt.date
    in_sync: bool
    days_differing: tuple[dt.date, ...]
    missing: int
    stale: int
    changed: int
    duplicates: int
    mode: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlanResult(Result):
    plan: Plan = dataclasses.field(repr=False, compare=False)
    first: dt.date
    last: dt.date
    strategy: str
    days_to_change: int
    rows_to_write: int
    expected_row_delta: int
    eta_seconds: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class BackfillResult(Result):
    run: str
    state: str
    in_sync: bool
    rows_written: int
    days_out_of_sync: tuple[dt.date, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SyncResult(Result):
    in_sync: bool                            # no day refused, no drifted day left
    run: str                                 # the journal's run id ("" for a dry run)
    dry_run: bool
    days_synced: tuple[dt.date, ...]         # written because asked for (or healed: see days_healed)
    days_checked: tuple[dt.date, ...]        # the lookback's (and sweep's) days compared with Postgres
    days_drifted: tuple[dt.date, ...]
    days_healed: tuple[dt.date, ...]
    days_left: tuple[dt.date, ...]           # drifted and not healed (the cap, a dry run)
    refused: tuple[str, ...]                 # one line per day a guard refused
    rows_written: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerifyResult(Result):
    first: dt.date
    last: dt.date
    in_sync: bool
    days: int
    days_out_of_sync: tuple[dt.date, ...]
    source_rows: int
    sink_rows: int
    noun: str                                # what a row is, plural ("conversations" for the seed's table)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HistoryResult(Result):
    table: str
    days: int
    proven: int                              # proven and not drifted since (healed ones included)
    healed: int
    drifted: int                             # drift found and not proven since
    never: int
    oldest_proof_age_seconds: float | None


# -- specs, sources and sinks ----------------------------------------------------------------------------

def load_spec(spec: SpecLike = None, *, table: str | None = None, params: Mapping[str, ParamValue] | None = None,
              customer: str | None = None) -> TableSpec:
    """The one table a command works on: from a spec file (`table` picks one of several), a TableSpec, or the
    shipped seed spec; with `params` and `customer` applied."""
    if isinstance(spec, TableSpec):
        chosen = spec
        if table is not None and spec.name != table:
            raise BadInput(f"table {table!r}: the spec given is {spec.name!r}")
    else:
        if spec is not None and not Path(spec).is_file():
            raise BadInput(f"config file {os.fspath(spec)} not found")
        specs = load_specs(None if spec is None else Path(spec))
        if table is not None:
            specs = [s for s in specs if s.name == table] or _no_table(table, specs)
        if len(specs) > 1:
            raise BadInput(f"the config declares several tables ({', '.join(s.name for s in specs)}): pick one "
                           "by its name (table=NAME)")
        chosen = specs[0]
    if params:
        unknown = sorted(set(params) - set(chosen.params))
        if unknown:
            raise BadInput(f"parameter {unknown[0]!r}: {chosen.origin} has no such parameter "
                           f"(known: {', '.join(sorted(chosen.params)) or 'none'})")
        chosen = chosen.with_params(dict(params))
    if customer is not None:
        if "customer" not in chosen.params:
            raise BadInput(f"{chosen.origin} has no customer parameter: give no customer")
        chosen = chosen.with_customer(customer)
    return chosen


def _no_table(name: str, specs: list[TableSpec]) -> list[TableSpec]:
    raise BadInput(f"table {name!r}: the config declares {', '.join(s.name for s in specs)}")


def _resolve(spec: SpecLike, source: SourceLike, sink: SinkLike, *, table: str | None = None,
             params: Mapping[str, ParamValue] | None = None, customer: str | None = None) -> TableSpec:
    """The spec a command runs with: an opened source's or sink's own (the spec options are then not used),
    else `load_spec`'s."""
    for given in (source, sink):
        if given is not None and not isinstance(given, str):
            return given.spec
    return load_spec(spec, table=table, params=params, customer=customer)


@contextlib.contextmanager
def _opened(spec: TableSpec, source: SourceLike, sink: SinkLike, *,
            need_source: bool = True) -> Iterator[tuple[Any, Any]]:
    """(source, sink) for one command, the source checked (`check_source`): objects given are used as they
    are (the caller keeps and closes them); URLs are opened with the spec and closed at the end."""
    if need_source and (source is None or source == ""):
        raise BadInput("no source given: a Postgres URL, postgresql://user[:password]@host[:port]/database")
    if sink is None or sink == "":
        raise BadInput("no sink given: chdb:///path/to/dir or clickhouse://user[:password]@host:9000/database")
    opened: list[Any] = []
    try:
        src: Any = None
        if need_source:
            if isinstance(source, str):
                from .source import open_source
                src = open_source(source, spec)
                opened.append(src)
            else:
                src = source
            check_source(src)
        if isinstance(sink, str):
            from .sink import open_sink
            snk: Any = open_sink(sink, spec)
            opened.append(snk)
        else:
            snk = sink
        yield src, snk
    finally:
        for thing in reversed(opened):
            with contextlib.suppress(Exception):
                thing.close()


_checked: weakref.WeakSet = weakref.WeakSet()   # sources whose spec was checked: each is checked once


def check_source(source: PostgresSource) -> PostgresSource:
    """The source's customer exists and the spec matches the live catalog (exit 2 before anything runs);
    a source checked once is not checked again."""
    if source not in _checked:
        from .source.catalog import require
        source.check_customer()
        require(source, source.spec)
        _checked.add(source)
    return source


def _day(value: Day, what: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    from .dates import parse_day
    return parse_day(value, what)


def _range(first: Day | None, last: Day | None) -> tuple[dt.date, dt.date]:
    if first is None or last is None:
        raise BadInput("give both the first and the last day of the range")
    a, b = _day(first, "first day"), _day(last, "last day")
    if b < a:
        raise BadInput(f"the first day {a} is after the last day {b}: swap them")
    from .dates import day_range
    day_range(a, b)     # refuses an absurdly long range
    return a, b


def _mode(mode: str) -> str:
    if mode not in MODES:
        raise BadInput(f"mode {mode!r}: use one of {', '.join(MODES)}")
    return mode


def _dates(texts: list[str]) -> tuple[dt.date, ...]:
    return tuple(dt.date.fromisoformat(t) for t in texts)


# -- read-only commands ----------------------------------------------------------------------------------

def scope(spec: SpecLike = None, *, source: SourceLike, sink: SinkLike, first: Day, last: Day, samples: int = 0,
          mode: str = "auto", out: str | os.PathLike[str] | None = None, table: str | None = None,
          params: Mapping[str, ParamValue] | None = None, customer: str | None = None) -> ScopeResult:
    """The range's drift: totals, per day, per breakdown value, stale reasons, changed columns. `out`: also
    write scope.md (+ charts), scope.html and scope.json into that directory. Read-only."""
    a, b = _range(first, last)
    _mode(mode)
    resolved = _resolve(spec, source, sink, table=table, params=params, customer=customer)
    with _opened(resolved, source, sink) as (src, snk):
        from . import log
        from .scope import build_scope
        found = build_scope(src, snk, a, b, samples=samples, mode=mode)
        doc = found.to_json()
        log.info(f"mode {doc['mode']['mode']}: {doc['mode']['why']}")
    if out is not None:
        from .report.files import write_scope_report
        write_scope_report(Path(out), doc)
    totals = found.totals
    return ScopeResult(exit_code=EXIT_OK, document=doc, first=a, last=b, in_sync=found.in_sync,
                       source_rows=found.source_rows, sink_rows=found.sink_rows, sink_distinct=found.sink_distinct,
                       duplicate_keys=found.sink_duplicated, missing=totals["missing"], stale=totals["stale"],
                       changed=totals["changed"], days_out_of_sync=tuple(d.day for d in found.drifted_days()),
                       mode=found.mode)


def diff(spec: SpecLike = None, *, source: SourceLike, sink: SinkLike, first: Day, last: Day, limit: int = 10,
         mode: str = "auto", table: str | None = None, params: Mapping[str, ParamValue] | None = None,
         customer: str | None = None) -> DiffResult:
    """Row-level differences, classified (missing, stale with reasons, changed with columns, duplicates),
    with up to `limit` sample keys per class. Exit code 1 when any differ. Read-only."""
    a, b = _range(first, last)
    _mode(mode)
    resolved = _resolve(spec, source, sink, table=table, params=params, customer=customer)
    with _opened(resolved, source, sink) as (src, snk):
        from . import log
        from .diff.run import diff_with_mode
        snk.require_table()
        found, ran, why = diff_with_mode(src, snk, a, b, mode, keep=limit)
        log.info(f"mode {ran}: {why}")
        doc = found.to_json(src.spec.customer, limit) | {"mode": {"mode": ran, "why": why}}
    days = doc["days"]
    return DiffResult(exit_code=EXIT_OK if doc["in_sync"] else EXIT_CHECKS_FAILED, document=doc, first=a, last=b,
                      in_sync=doc["in_sync"], days_differing=_dates([d["day"] for d in days]),
                      missing=sum(d["missing"] for d in days), stale=sum(d["stale"] for d in days),
                      changed=sum(d["changed"] for d in days), duplicates=sum(d["duplicates"] for d in days),
                      mode=ran)


def verify(spec: SpecLike = None, *, source: SourceLike, sink: SinkLike, first: Day, last: Day,
           mode: str = "push", table: str | None = None, params: Mapping[str, ParamValue] | None = None,
           customer: str | None = None) -> VerifyResult:
    """Proof that the sink equals the source over the range (per day: counts and row fingerprints agree, no
    duplicates), each day's outcome recorded in the ledger. Exit code 1 when a day is out of sync."""
    a, b = _range(first, last)
    _mode(mode)
    resolved = _resolve(spec, source, sink, table=table, params=params, customer=customer)
    with _opened(resolved, source, sink) as (src, snk):
        from .apply.ledger import record_verify
        from .scope import build_scope
        found = build_scope(src, snk, a, b, mode=mode)
        record_verify(snk, found)
    doc = found.to_json("verify")
    bad = tuple(d.day for d in found.days if not d.in_sync)
    return VerifyResult(exit_code=EXIT_CHECKS_FAILED if bad else EXIT_OK, document=doc, first=a, last=b,
                        in_sync=not bad, days=len(found.days), days_out_of_sync=bad, source_rows=found.source_rows,
                        sink_rows=found.sink_rows, noun=found.noun[1])


def history(spec: SpecLike = None, *, sink: SinkLike, html: str | os.PathLike[str] | None = None,
            table: str | None = None, params: Mapping[str, ParamValue] | None = None,
            customer: str | None = None) -> HistoryResult:
    """Every day of the table's history with its last proof, drift and heal (from the ledger); `html`: also
    draw it as a calendar page. Reads the sink only."""
    resolved = _resolve(spec, None, sink, table=table, params=params, customer=customer)
    with _opened(resolved, None, sink, need_source=False) as (_, snk):
        from .apply.ledger import history as build_history
        snk.require_table_exists()
        doc = build_history(snk, snk.spec).to_json()
    if html is not None:
        from .report.history import history_html
        Path(html).write_text(history_html(doc), encoding="utf-8")
    states = {s: sum(1 for d in doc["days"] if d["state"] == s) for s in ("proven", "healed", "drifted", "never")}
    return HistoryResult(exit_code=EXIT_OK, document=doc, table=doc["table"], days=len(doc["days"]),
                         proven=states["proven"] + states["healed"], healed=states["healed"],
                         drifted=states["drifted"], never=states["never"],
                         oldest_proof_age_seconds=doc["oldest_proof_age_seconds"])


# -- commands that plan or change the sink ---------------------------------------------------------------

def plan(spec: SpecLike = None, *, source: SourceLike, sink: SinkLike, first: Day, last: Day,
         strategy: str = "auto", mode: str = "push", out: str | os.PathLike[str] | None = None,
         table: str | None = None, params: Mapping[str, ParamValue] | None = None,
         customer: str | None = None) -> PlanResult:
    """What a backfill would do: per day the drift, the action, the SQL, the row delta and an ETA. `out`:
    also save it as JSON (for backfill(plan=...)). Changes nothing but chsync's empty journal tables."""
    a, b = _range(first, last)
    _strategy(strategy)
    _mode(mode)
    resolved = _resolve(spec, source, sink, table=table, params=params, customer=customer)
    with _opened(resolved, source, sink) as (src, snk):
        made = _make_plan(src, snk, a, b, strategy, mode)
    if out is not None:
        from .plan.model import save_plan
        save_plan(made, Path(out))
    from .plan.model import plan_document
    doc = plan_document(made)
    totals = doc["totals"]
    return PlanResult(exit_code=EXIT_OK, document=doc, plan=made, first=dt.date.fromisoformat(made.first),
                      last=dt.date.fromisoformat(made.last), strategy=made.strategy,
                      days_to_change=totals["days_to_change"], rows_to_write=totals["rows_to_write"],
                      expected_row_delta=totals["expected_row_delta"], eta_seconds=totals["eta_seconds"])


def _make_plan(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date, strategy: str,
               mode: str) -> Plan:
    """The plan, with ETAs from the journal's earlier runs of its strategy."""
    from .apply.journal import Journal
    from .plan.build import make_plan
    journal = Journal(sink)
    journal.ensure()
    return make_plan(source, sink, first, last, strategy, mode, rate_of=journal.rate)


def _strategy(name: str) -> None:
    from .strategies import STRATEGIES
    if name != "auto" and name not in STRATEGIES:
        raise BadInput(f"strategy {name!r}: use auto or one of {', '.join(STRATEGIES)}")


def _writable(spec: TableSpec) -> None:
    """Refuse a spec whose sink table other customers would share before replacing any partition."""
    if spec.unsafe_for_swaps:
        raise BadInput(spec.unsafe_for_swaps)


def backfill(spec: SpecLike = None, *, source: SourceLike, sink: SinkLike, first: Day | None = None,
             last: Day | None = None, strategy: str = "auto", plan: Plan | str | os.PathLike[str] | None = None,
             resume: str | None = None, allow_shrink: bool = False, take_over: bool = False,
             barrier_timeout: float = 600.0, mode: str = "push", workers: int | None = None,
             batch_rows: int | None = None, confirm: Callable[[Plan], None] | None = None,
             table: str | None = None, params: Mapping[str, ParamValue] | None = None,
             customer: str | None = None) -> BackfillResult:
    """Repair the range with a plan (made now from first..last, given, or loaded from a file), or resume the
    run `resume` ("last" for the latest), then verify it. Calling it is the confirmation; `confirm(plan)`,
    when given, is called before anything is written and may raise Refused. Exit code 1 when the range is
    not in sync afterwards."""
    if resume is None and plan is None:
        a, b = _range(first, last)
        _strategy(strategy)
    _mode(mode)
    resolved = _resolve(spec, source, sink, table=table, params=params, customer=customer)
    _writable(resolved)
    with _opened(resolved, source, sink) as (src, snk):
        from .apply.backfill import Backfill, run_and_verify
        from .apply.journal import Journal
        from .strategies.partition import BATCH_ROWS
        journal = Journal(snk)
        journal.ensure()
        job = Backfill(src, snk, allow_shrink=allow_shrink, barrier_timeout=barrier_timeout, workers=workers,
                       batch_rows=batch_rows or BATCH_ROWS)
        if resume is not None:
            done = run_and_verify(job, resume=resume, take_over=take_over)
        else:
            journal.check_free(take_over=take_over)   # before the plan's diff: a writer is at work
            if plan is None:
                made = _make_plan(src, snk, a, b, strategy, mode)
            else:
                from .plan.model import load_plan
                made = load_plan(Path(plan)) if isinstance(plan, str | os.PathLike) else plan
            from . import log
            log.info(f"strategy {made.strategy}: {made.why}; read window: {made.read_window}")
            log.info(f"mode {made.mode}: {made.mode_why}")
            if confirm is not None:
                confirm(made)
            done = run_and_verify(job, made, take_over=take_over)
    in_sync = done["verify"]["in_sync"]
    return BackfillResult(exit_code=EXIT_OK if in_sync else EXIT_CHECKS_FAILED, document=done, run=done["run"],
                          state=done["state"], in_sync=in_sync, rows_written=done["rows_written"],
                          days_out_of_sync=_dates(done["verify"]["days_out_of_sync"]))


def sync_request(spec: TableSpec, *, day: Day | None = None, first: Day | None = None, last: Day | None = None,
                 lookback: int | None = None, only_drifted: bool = False, sweep: int = 0,
                 max_heal_days: int | None = None, dry_run: bool = False, wait: float = 0.0,
                 allow_shrink: bool = False, mode: str = "push", workers: int | None = None,
                 batch_rows: int | None = None) -> SyncRequest:
    """What a sync is asked to do: the days it writes and the days it checks, from either one `day` (with
    `lookback`: the N days before it are checked; default the spec's [sync] lookback_days) or a range
    `first`..`last` (with `only_drifted`: only the range's drifted days are written)."""
    from .apply.sync import SyncRequest
    from .strategies.partition import BATCH_ROWS
    if day is not None:
        if first is not None or last is not None:
            raise BadInput("give either one day or a range (first and last day), not both")
        if only_drifted:
            raise BadInput("only_drifted goes with a range (with one day, give a lookback)")
        days = [_day(day, "day")]
        if lookback is None:
            lookback = spec.lookback_days
    else:
        if first is None and last is None:
            raise BadInput("give one day, or both the first and the last day of a range")
        a, b = _range(first, last)
        if lookback is not None:
            raise BadInput("a lookback goes with one day (for a range, use only_drifted)")
        if sweep:
            raise BadInput("a sweep goes with one day (and a lookback): it adds the history's oldest-proven days")
        from .dates import day_range
        days = day_range(a, b)
    for name, value in (("lookback", lookback), ("sweep", sweep), ("max_heal_days", max_heal_days)):
        if value is not None and value < 0:
            raise BadInput(f"{name} {value} is negative")
    if workers is not None and not 1 <= workers <= 16:
        raise BadInput(f"workers {workers}: give 1 to 16")
    if wait < 0:
        raise BadInput(f"wait {wait} is negative")
    check: list[dt.date] = []
    if only_drifted:
        check, days = days, []
    elif lookback:
        check = [days[0] - dt.timedelta(days=n) for n in range(lookback, 0, -1)]
    return SyncRequest(days=days, check=check, max_heal=max_heal_days, dry_run=dry_run, allow_shrink=allow_shrink,
                       mode=_mode(mode), workers=workers, wait=wait, sweep=sweep,
                       batch_rows=batch_rows or BATCH_ROWS)


def sync(spec: SpecLike = None, *, source: SourceLike, sink: SinkLike, day: Day | None = None,
         first: Day | None = None, last: Day | None = None, lookback: int | None = None, only_drifted: bool = False,
         sweep: int = 0, max_heal_days: int | None = None, dry_run: bool = False, wait: float = 0.0,
         allow_shrink: bool = False, mode: str = "push", workers: int | None = None, batch_rows: int | None = None,
         table: str | None = None, params: Mapping[str, ParamValue] | None = None,
         customer: str | None = None) -> SyncResult:
    """The daily job: each requested day replaces that day in the sink (staged, checked against Postgres,
    swapped in), and the lookback's days that drifted are healed the same way. Exit code 0 when every day
    ended in sync, 1 when drifted days were left (the cap, a dry run), 3 when a guard refused a day; a
    held lock raises Refused (after waiting up to `wait` seconds)."""
    resolved = _resolve(spec, source, sink, table=table, params=params, customer=customer)
    request = sync_request(resolved, day=day, first=first, last=last, lookback=lookback, only_drifted=only_drifted,
                           sweep=sweep, max_heal_days=max_heal_days, dry_run=dry_run, wait=wait,
                           allow_shrink=allow_shrink, mode=mode, workers=workers, batch_rows=batch_rows)
    if not dry_run:
        _writable(resolved)
    with _opened(resolved, source, sink) as (src, snk):
        return sync_on(src, snk, request)


def sync_on(source: PostgresSource, sink: ClickHouseSink, request: SyncRequest) -> SyncResult:
    """A sync request (`sync_request`) on an opened source and sink (the caller keeps and closes them)."""
    from .apply.sync import run_sync
    done = run_sync(check_source(source), sink, request)
    code = EXIT_REFUSED if done.refused else EXIT_CHECKS_FAILED if done.left else EXIT_OK
    healed = {h.day for h in done.healed}
    return SyncResult(exit_code=code, document=done.to_json(), in_sync=done.in_sync, run=done.run,
                      dry_run=done.dry_run, days_synced=tuple(d.day for d in done.days if d.day not in healed),
                      days_checked=tuple(done.checked), days_drifted=tuple(done.drifted),
                      days_healed=tuple(sorted(healed)), days_left=tuple(done.left), refused=tuple(done.refused),
                      rows_written=done.rows_written)


COMMANDS = ("scope", "diff", "plan", "backfill", "sync", "verify", "history")

__all__ = ["configure_runtime", "load_spec", "check_source", "scope", "diff", "plan", "backfill", "sync", "verify",
           "history", "sync_request", "sync_on", "Result", "ScopeResult",
           "DiffResult", "PlanResult", "BackfillResult", "SyncResult", "VerifyResult", "HistoryResult", "COMMANDS",
           "SpecLike", "SourceLike", "SinkLike"]
