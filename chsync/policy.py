"""How rows travel (push or pull) and which strategy repairs a range, with the reason said in words.

Dependency-free on purpose: the inputs are the sink's Capabilities and facts the caller found out (is the
spec's SQL pullable, is chDB installed, does the server's HTTP interface answer), so every choice can be
unit-tested without a database (tests/test_policy.py).
"""

from __future__ import annotations

import dataclasses

from .errors import BadInput, RuntimeFailure
from .sink.capabilities import Capabilities

MODES = ("push", "pull", "auto")
# Below this share of drifted rows, deleting just the differing keys beats reloading whole partitions.
REPAIR_MAX_DRIFT = 0.01


@dataclasses.dataclass(frozen=True)
class Choice:
    name: str
    why: str


def _check_mode(requested: str) -> None:
    if requested not in MODES:
        raise BadInput(f"unknown mode {requested!r}: use push, pull or auto")


def write_mode(requested: str, caps: Capabilities, strategy: str, *, strategy_pulls: bool,
               not_pullable: str | None = None) -> Choice:
    """How a sync or a backfill moves rows. Pull has the sink read Postgres through postgresql(): it needs
    that function and a strategy that stages whole partitions; auto pulls only where the sink is known to
    reach Postgres (an embedded sink runs in this process)."""
    _check_mode(requested)
    if not caps.postgresql_function:
        if requested == "pull":
            raise BadInput(f"--mode pull needs the postgresql() table function (ClickHouse 21.3 or later); this "
                           f"sink is ClickHouse {caps.version}: use --mode push")
        return Choice("push", f"ClickHouse {caps.version} has no postgresql() table function: chsync reads "
                              "Postgres and writes the rows (push)")
    if not strategy_pulls:
        if requested == "pull":
            raise BadInput(f"--mode pull works with the swap strategy (and diff); {strategy} reads through "
                           "chsync: use --mode push or --strategy swap")
        return Choice("push", f"the {strategy} strategy reads through chsync (pull works with swap only)")
    if requested == "push":
        return Choice("push", "requested")
    if not_pullable:
        if requested == "pull":
            raise BadInput(f"--mode pull: the spec's SQL cannot be carried into ClickHouse ({not_pullable}): "
                           "use --mode push")
        return Choice("push", f"the spec's SQL cannot be carried into ClickHouse ({not_pullable}): chsync reads "
                              "Postgres and writes the rows (push)")
    if requested == "pull":
        return Choice("pull", "requested: the sink reads each day from Postgres itself through postgresql()")
    if caps.in_process:
        return Choice("pull", "the embedded sink runs in this process and has postgresql(): it reads Postgres "
                              "itself and does the joins and hashing in ClickHouse")
    return Choice("push", "a server sink may not reach Postgres at the address chsync uses: pass --mode pull "
                          "once it can")


def diff_mode(requested: str, caps: Capabilities, *, not_pullable: str | None = None, chdb: bool = True,
              no_http: str | None = None) -> Choice:
    """How a diff (scope, diff, plan) hashes and compares. An embedded sink compares inside itself; a server
    sink's rows are copied over HTTP into an in-process chDB, which reads Postgres itself. `no_http`: why
    the server's HTTP interface cannot be used (the probe's answer), None when it can."""
    _check_mode(requested)
    if requested == "push":
        return Choice("push", "requested")
    prefix = "requested: " if requested == "pull" else ""
    if not_pullable:
        if requested == "pull":
            raise BadInput(f"--mode pull: the spec's SQL cannot be carried into ClickHouse ({not_pullable}): "
                           "use --mode push")
        return Choice("push", f"the spec's SQL cannot be carried into ClickHouse ({not_pullable}), so Postgres "
                              "hashes the source set and the sink its rows (push)")
    if caps.in_process and caps.postgresql_function:
        if requested == "pull":
            return Choice("pull", "requested: the sink reads each day from Postgres itself through postgresql()")
        return Choice("pull", "the embedded sink runs in this process and has postgresql(): it reads Postgres "
                              "itself and does the joins and hashing in ClickHouse")
    if not caps.http_copy:
        if requested == "pull":
            raise BadInput("--mode pull: this sink's rows cannot be copied into an in-process chDB: use --mode push")
        return Choice("push", "Postgres hashes the source set and the sink its rows (push)")
    if not chdb:
        if requested == "pull":
            raise BadInput("--mode pull on a server sink compares in an in-process chDB, which is not installed: "
                           "pip install 'chsync[embedded]', or use --mode push")
        return Choice("push", "chDB is not installed, so Postgres hashes the source set and the server its rows "
                              "(push)")
    if no_http:
        if requested == "pull":
            raise RuntimeFailure(f"--mode pull copies the server's rows over HTTP, but {no_http}: set http_port= "
                                 "in the sink URL to the server's HTTP port, or use --mode push")
        return Choice("push", f"{no_http}, so Postgres hashes the source set and the server its rows (push); "
                              "name the server's HTTP port with http_port= in the sink URL for the faster copy")
    return Choice("pull", prefix + "the server's rows are copied over HTTP into an in-process chDB, which reads "
                                   "Postgres itself and compares both there")


@dataclasses.dataclass(frozen=True)
class Drift:
    """What the planner needs of a scope to pick a strategy."""
    rows: int                 # the larger of source rows and sink rows
    differing: int            # missing + stale + changed + extra duplicate rows


def strategy(requested: str, known: tuple[str, ...], caps: Capabilities, drift: Drift,
             needs_grain: dict[str, tuple[str, ...]]) -> Choice:
    """The strategy to run and why. `needs_grain`: the partition grains a strategy works with (swap
    replaces whole partitions, so it needs day or month partitions)."""
    if requested not in ("auto", *known):
        raise BadInput(f"unknown strategy {requested!r}: use one of auto, {', '.join(known)}")
    grain = caps.partition_grain
    if requested != "auto":
        grains = needs_grain.get(requested)
        if grains and grain not in grains:
            raise BadInput(f"strategy {requested} needs {' or '.join(grains)} partitions; the sink is partitioned "
                           f"by {caps.partition_key}: use --strategy repair or bulk")
        return Choice(requested, "requested")
    if grain == "day":
        return Choice("swap", "partitions are days: each drifted day is staged, checked against Postgres and "
                              "swapped in with REPLACE PARTITION, so readers never see an empty or doubled day")
    rows = max(1, drift.rows)
    if grain == "month" and drift.differing / rows > REPAIR_MAX_DRIFT:
        return Choice("swap", f"partitions are months and {drift.differing:,} of {rows:,} rows differ: each "
                              "drifted month is staged whole, checked against Postgres and swapped in with "
                              "REPLACE PARTITION, so readers never see an empty or doubled month")
    if drift.differing / rows <= REPAIR_MAX_DRIFT:
        return Choice("repair", f"partitions are not days ({caps.partition_key}) and only {drift.differing:,} of "
                                f"{rows:,} rows differ: delete and re-insert just those keys")
    return Choice("bulk", f"partitions are not days ({caps.partition_key}) and {drift.differing:,} of {rows:,} rows "
                          "differ: delete the range and reload it")
