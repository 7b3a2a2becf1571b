"""Building a Plan: scope the range, let policy pick the strategy and the mode, ask the strategy what each
day becomes and which SQL it runs, and estimate the time from earlier runs (or one timed read)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import __version__, policy
from ..diff.transport import not_pullable
from ..pull.reader import pull_insert_preview
from ..scope import DayRow, Scope, build_scope
from ..sink.base import ClickHouseSink
from ..strategies import STRATEGIES, Strategy
from ..strategies.partition import month_of
from .model import DRIFT_KEYS, DayPlan, Plan

if TYPE_CHECKING:
    from ..source.postgres import PostgresSource

DEFAULT_RATE = 20_000.0


def choose(requested: str, sink: ClickHouseSink, scope: Scope) -> tuple[Strategy, str]:
    drift = policy.Drift(rows=max(scope.sink_rows, scope.source_rows),
                         differing=sum(scope.totals.values()) + scope.extra_duplicate_rows)
    choice = policy.strategy(requested, tuple(STRATEGIES), sink.capabilities, drift,
                             {name: s.grains for name, s in STRATEGIES.items() if s.grains})
    return STRATEGIES[choice.name], choice.why


def transfer_mode(requested: str, sink: ClickHouseSink, strategy: Strategy) -> policy.Choice:
    caps = sink.capabilities
    reason = not_pullable(sink.spec, caps.time_precision) if requested != "push" else None
    return policy.write_mode(requested, caps, strategy.name, strategy_pulls=strategy.pulls, not_pullable=reason)


def build_plan(scope: Scope, sink: ClickHouseSink, strategy: str = "auto", *, rate: float | None = None,
               rate_basis: str = "", mutation_seconds: float = 1.0, mode: str = "push",
               requested: tuple[dt.date, dt.date] | None = None) -> Plan:
    caps = sink.capabilities
    chosen, why = choose(strategy, sink, scope)
    transfer = transfer_mode(mode, sink, chosen)
    rate = rate or DEFAULT_RATE
    rows = scope.days
    if requested and chosen.name != "swap":   # only a swap of whole months reaches outside the range asked
        rows = [d for d in rows if requested[0] <= d.day <= requested[1]]
    actions = _actions(chosen, rows, caps.partition_grain)
    days = []
    for d in rows:
        action = actions[d.day]
        insert = (pull_insert_preview("{table}", d.day, d.source) if transfer.name == "pull"
                  else f"INSERT INTO {{table}} ({d.source:,} rows read from Postgres for {d.day})")
        days.append(DayPlan(
            day=d.day.isoformat(), action=action, drift={k: getattr(d, k) for k in DRIFT_KEYS},
            expected_row_delta=0 if action == "skip" else d.source - d.sink_rows,
            sql=[] if action == "skip" else chosen.preview(sink, d.day, action, d, insert),
            eta_seconds=round(chosen.eta(d, action, rate, mutation_seconds), 3)))
    first, last = rows[0].day if rows else scope.first, rows[-1].day if rows else scope.last
    widened = requested is not None and (first, last) != requested
    return Plan(
        customer=scope.customer, sink=sink.display_url, sink_table=sink.table, first=first.isoformat(),
        last=last.isoformat(), strategy=chosen.name, why=why, mode=transfer.name, mode_why=transfer.why,
        read_window=_read_window(chosen, caps.partition_grain, first, last, requested),
        states=chosen.states, capabilities=caps.as_dict(),
        global_steps=[dataclasses.asdict(g) for g in chosen.global_steps(sink, first, last)], days=days,
        eta_basis=rate_basis or f"default {rate:,.0f} rows/s", table=sink.spec.name, spec=sink.spec.fingerprint,
        chsync_version=__version__,
        requested=(requested[0].isoformat(), requested[1].isoformat()) if widened and requested else None)


def _actions(strategy: Strategy, rows: list[DayRow], grain: str | None) -> dict[dt.date, str]:
    """Each day's action; a strategy that replaces whole months gives every day of a drifted month the
    month's action."""
    actions = {d.day: strategy.action(d, grain) for d in rows}
    if grain == "month" and strategy.name == "swap":
        by_month: dict[dt.date, list[DayRow]] = {}
        for d in rows:
            by_month.setdefault(month_of(d.day).first, []).append(d)
        for days in by_month.values():
            drifted = any(actions[d.day] != "skip" for d in days)
            for d in days:
                actions[d.day] = "swap" if drifted else "skip"
    return actions


def _read_window(strategy: Strategy, grain: str | None, first: dt.date, last: dt.date,
                 requested: tuple[dt.date, dt.date] | None) -> str:
    if strategy.name == "swap" and grain == "month":
        asked = f" (asked for {requested[0]} – {requested[1]})" if requested else ""
        return (f"none: each drifted month ({first} – {last}{asked}) is re-read from Postgres whole, staged, "
                "checked and swapped in as one partition")
    return strategy.read_window


def make_plan(source: PostgresSource, sink: ClickHouseSink, first: dt.date, last: dt.date, strategy: str = "auto",
              mode: str = "push", rate_of: Callable[[str], float | None] | None = None) -> Plan:
    """Scope the range, pick the strategy, estimate from earlier runs of it (`rate_of`, from the journal)
    or from a one-day calibration. On a month-partitioned sink a swap replaces whole months, so the
    range is widened to them first (and the plan says so)."""
    requested = (first, last)
    if sink.capabilities.partition_grain == "month" and strategy in ("auto", "swap"):
        first, last = month_of(first).first, month_of(last).last
    scope = build_scope(source, sink, first, last, explain=False)
    chosen, _ = choose(strategy, sink, scope)
    rate = rate_of(chosen.name) if rate_of else None
    basis = f"{rate:,.0f} rows/s: earlier {chosen.name} runs in the journal" if rate else ""
    if rate is None:
        rate, basis = calibrate(source, sink, scope)
    return build_plan(scope, sink, strategy, rate=rate, rate_basis=basis, mode=mode,
                      requested=requested if requested != (first, last) else None)


def calibrate(source: PostgresSource, sink: ClickHouseSink, scope: Scope) -> tuple[float, str]:
    """Times one source read (the largest drifted day); writes are assumed to cost as much as reads."""
    drifted = [d for d in scope.days if not d.in_sync and d.source]
    if not drifted:
        return DEFAULT_RATE, "default 20,000 rows/s (nothing to calibrate on)"
    day = max(drifted, key=lambda d: d.source)
    t0 = time.monotonic()
    n = source.read_day(day.day, sink.capabilities.time_precision).num_rows
    seconds = max(time.monotonic() - t0, 1e-3)
    rate = n / seconds / 2
    return rate, (f"calibrated: reading {day.day} ({n:,} rows) took {seconds:.2f}s; "
                  f"read + write ≈ {rate:,.0f} rows/s")
