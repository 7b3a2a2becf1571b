"""A backfill Plan: plain data (JSON-able) — per day the drift, the action, the SQL, the row delta, an ETA,
and the read window the strategy implies. Printable, savable, reviewable, then applied by apply/backfill.py.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from .errors import BadInput
from .sink.base import ClickHouseSink
from .sink.capabilities import Capabilities
from .sink.pull import pull_insert_preview

STRATEGIES = ("auto", "swap", "repair", "bulk", "per-day")
PLAN_VERSION = 1
# Below this share of drifted rows, deleting just the differing keys beats reloading whole days.
REPAIR_MAX_DRIFT = 0.01

READ_WINDOWS = {
    "swap": "none: each day is staged, checked, and swapped in as one partition",
    "repair": "differing rows: stale/duplicate rows stay visible until their delete mutation finishes; "
              "changed rows are absent between their delete and re-insert",
    "bulk": "the whole range: empty from the range DELETE until each day is re-inserted (seed option A)",
    "per-day": "one day at a time: each day is empty while it reloads (seed option B)",
}
STATES = {
    "swap": ["planned", "staged", "verified", "swapped", "checked"],
    "repair": ["planned", "deleted", "inserted", "checked"],
    "bulk": ["planned", "deleted", "inserted", "checked"],
    "per-day": ["planned", "deleted", "inserted", "checked"],
}


MODES = ("push", "pull", "auto")


def choose_mode(requested: str, caps: Capabilities, strategy: str = "swap") -> tuple[str, str]:
    """How rows travel (and how the source side is hashed for a diff), and why. `pull` has the sink
    read Postgres through postgresql(); it needs that function and is used by the swap strategy only."""
    if requested not in MODES:
        raise BadInput(f"unknown mode {requested!r}: use push, pull or auto")
    if strategy == "diff" and caps.backend == "server":
        return _diff_mode_on_server(requested)
    if not caps.postgresql_function:
        if requested == "pull":
            raise BadInput(f"--mode pull needs the postgresql() table function (ClickHouse 21.3 or later); this "
                           f"sink is ClickHouse {caps.version}: use --mode push")
        return "push", (f"ClickHouse {caps.version} has no postgresql() table function: chsync reads Postgres "
                        "and writes the rows (push)")
    if strategy not in ("swap", "diff"):
        if requested == "pull":
            raise BadInput(f"--mode pull works with the swap strategy (and diff); {strategy} reads through "
                           "chsync: use --mode push or --strategy swap")
        return "push", f"the {strategy} strategy reads through chsync (pull works with swap only)"
    if requested == "push":
        return "push", "requested"
    if requested == "pull":
        return "pull", "requested: the sink reads each day from Postgres itself through postgresql()"
    if caps.backend == "chdb":
        return "pull", ("the embedded sink runs in this process and has postgresql(): it reads Postgres itself "
                        "and does the joins and hashing in ClickHouse")
    return "push", ("a server sink may not reach Postgres at the address chsync uses: "
                    "pass --mode pull once it can")


def _diff_mode_on_server(requested: str) -> tuple[str, str]:
    """A server's diff pulls into an in-process chDB (sink/mirror.py), whatever the server's version."""
    from .sink.mirror import available
    if requested == "push":
        return "push", "requested"
    if not available():
        if requested == "pull":
            raise BadInput("--mode pull on a server sink compares in an in-process chDB, which is not installed: "
                           "pip install 'chsync[embedded]', or use --mode push")
        return "push", "chDB is not installed, so Postgres hashes the source set and the server its rows (push)"
    return "pull", (("requested: " if requested == "pull" else "")
                    + "the server's rows are copied over HTTP into an in-process chDB, which reads Postgres "
                      "itself and compares both there")


def choose_strategy(requested: str, caps: Capabilities, scope: dict) -> tuple[str, str]:
    """The strategy to run and why (auto reads the capabilities and the drift)."""
    if requested not in STRATEGIES:
        raise BadInput(f"unknown strategy {requested!r}: use one of {', '.join(STRATEGIES)}")
    if requested != "auto":
        if requested == "swap" and not caps.partitions_are_days:
            raise BadInput(f"strategy swap needs day partitions; the sink is partitioned by {caps.partition_key}: "
                           "use --strategy repair or bulk")
        return requested, "requested"
    rows = max(1, scope["sink"]["rows"], scope["source"]["conversations"])
    drift = sum(scope["totals"].values()) + scope["sink"]["extra_duplicate_rows"]
    if caps.partitions_are_days:
        return "swap", ("partitions are days: each drifted day is staged, checked against Postgres and swapped in "
                        "with REPLACE PARTITION, so readers never see an empty or doubled day")
    if drift / rows <= REPAIR_MAX_DRIFT:
        return "repair", (f"partitions are not days ({caps.partition_key}) and only {drift:,} of {rows:,} rows "
                          "differ: delete and re-insert just those keys")
    return "bulk", (f"partitions are not days ({caps.partition_key}) and {drift:,} of {rows:,} rows differ: "
                    "delete the range and reload it")


def _day_action(strategy: str, day: dict) -> str:
    if day["in_sync"]:
        return "skip"
    if day["source"] == 0 and strategy in ("swap", "per-day"):
        return "drop"
    return {"swap": "swap", "repair": "repair", "bulk": "reload", "per-day": "reload"}[strategy]


def _day_sql(sink: ClickHouseSink, strategy: str, action: str, day: dt.date, drift: dict,
             mode: str = "push") -> list[str]:
    n = drift["source"]
    n_delete = drift["stale"] + drift["duplicates"] + drift["changed"]
    n_insert = drift["missing"] + drift["changed"] + drift["duplicates"]
    insert = f"INSERT INTO {{table}} ({n:,} rows read from Postgres for {day})"
    if mode == "pull":
        insert = pull_insert_preview("{table}", day, n)
    if action == "skip":
        return []
    if action == "drop":
        return sink.drop_day_statements(day)
    if strategy == "swap":
        stage = sink.stage_table(day)
        return [*sink.stage_statements(day), insert.format(table=stage),
                f"-- check {stage}: {n:,} rows and fingerprint = Postgres", *sink.swap_statements(day),
                f"-- check {sink.read_table} for {day}: {n:,} rows and fingerprint = Postgres"]
    if strategy == "repair":
        return [*sink.delete_keys_preview(day, n_delete),
                "-- the ids: the day's stale, duplicate and changed keys, diffed again when applied",
                f"INSERT INTO {sink.table} ({n_insert:,} missing, changed and duplicated rows from Postgres)"]
    if strategy == "per-day":
        return [*sink.delete_range_statements(day, day), "-- wait for mutations", insert.format(table=sink.table)]
    return [insert.format(table=sink.table)]  # bulk: the delete is one global step


def build_plan(scope: dict, sink: ClickHouseSink, strategy: str = "auto", *, rate: float | None = None,
               rate_basis: str = "", mutation_seconds: float = 1.0, mode: str = "push") -> dict:
    caps = sink.capabilities
    chosen, why = choose_strategy(strategy, caps, scope)
    transfer, transfer_why = choose_mode(mode, caps, chosen)
    rate = rate or 20_000.0
    first, last = scope["from"], scope["to"]
    days, global_steps = [], []
    for d in scope["days"]:
        day = dt.date.fromisoformat(d["day"])
        action = _day_action(chosen, d)
        if chosen == "bulk":
            action = "reload"  # the range delete empties every day, so every day is reloaded
        mutations = {"repair": 1, "per-day": 1}.get(chosen, 0) if action not in ("skip",) else 0
        eta = 0.0 if action == "skip" else d["source"] / rate + mutations * mutation_seconds
        days.append({
            "day": d["day"], "action": action,
            "drift": {k: d[k] for k in ("source", "sink_rows", "sink_distinct", "duplicates", "missing", "stale",
                                        "changed")},
            "expected_row_delta": 0 if action == "skip" else d["source"] - d["sink_rows"],
            "sql": _day_sql(sink, chosen, action, day, d, transfer),
            "eta_seconds": round(eta, 3),
        })
    if chosen == "bulk":
        global_steps = [{"step": "delete range", "sql": sink.delete_range_statements(
            dt.date.fromisoformat(first), dt.date.fromisoformat(last))},
            {"step": "wait for mutations", "sql": ["-- poll system.mutations until is_done on every shard"]}]
    total = sum(d["eta_seconds"] for d in days) + (mutation_seconds if global_steps else 0)
    return {
        "version": PLAN_VERSION, "customer": scope["customer"], "sink": sink.display_url,
        "sink_table": sink.table, "from": first, "to": last, "strategy": chosen, "why": why,
        "mode": transfer, "mode_why": transfer_why,
        "read_window": READ_WINDOWS[chosen], "states": STATES[chosen],
        "capabilities": caps.as_dict(), "global_steps": global_steps, "days": days,
        "totals": {"days": len(days), "days_to_change": sum(d["action"] != "skip" for d in days),
                   "expected_row_delta": sum(d["expected_row_delta"] for d in days),
                   "rows_to_write": sum(d["drift"]["source"] for d in days if d["action"] != "skip"),
                   "eta_seconds": round(total, 3)},
        "eta_basis": rate_basis or f"default {rate:,.0f} rows/s",
    }


def make_plan(source, sink: ClickHouseSink, first: dt.date, last: dt.date, strategy: str = "auto",
              mode: str = "push") -> dict:
    """Scope the range, pick the strategy, estimate from earlier runs of it (or a one-day calibration)."""
    from .scope import build_scope
    from .sink.journal import Journal
    scope = build_scope(source, sink, first, last, explain=False)
    chosen, _ = choose_strategy(strategy, sink.capabilities, scope)
    journal = Journal(sink)
    journal.ensure()
    rate = journal.rate(chosen)
    basis = f"{rate:,.0f} rows/s: earlier {chosen} runs in the journal" if rate else ""
    if rate is None:
        rate, basis = calibrate(source, sink, scope)
    return build_plan(scope, sink, strategy, rate=rate, rate_basis=basis, mode=mode)


def calibrate(source, sink: ClickHouseSink, scope: dict) -> tuple[float, str]:
    """Times one source read (the largest drifted day); writes are assumed to cost as much as reads."""
    drifted = [d for d in scope["days"] if not d["in_sync"] and d["source"]]
    if not drifted:
        return 20_000.0, "default 20,000 rows/s (nothing to calibrate on)"
    day = max(drifted, key=lambda d: d["source"])
    t0 = time.monotonic()
    n = source.read_day(dt.date.fromisoformat(day["day"]), sink.capabilities.time_precision).num_rows
    seconds = max(time.monotonic() - t0, 1e-3)
    rate = n / seconds / 2
    return rate, f"calibrated: reading {day['day']} ({n:,} rows) took {seconds:.2f}s; read + write ≈ {rate:,.0f} rows/s"


def save_plan(plan: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(plan, indent=2, default=str))


def load_plan(path: str | Path) -> dict:
    try:
        plan = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BadInput(f"plan file {path} not found") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"plan file {path} is not JSON ({e})") from None
    if plan.get("version") != PLAN_VERSION or "days" not in plan:
        raise BadInput(f"plan file {path} is not a chsync plan (version {PLAN_VERSION}): make one with `chsync plan`")
    return plan
