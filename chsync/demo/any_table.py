"""Drifted data for any table spec whose SQL is simple (source_model.py says what that is), with its
ground truth; the shipped seed spec keeps its own, seed-shaped generator (generate.py).

How it works:
- source_model.py reads the spec's own SQL into the Postgres tables it implies (base, joined, child),
  typed from the declared types; anything not simple is refused before anything is touched (exit 2).
- drift.py plans, per day of a fixed 14-day range, how many rows of each drift kind there are: missing,
  duplicated, changed in each compared column, stale by each predicate, deleted, moved to another day,
  and rows that never pass. rows.py makes each row twice, as Postgres has it now and as the old job
  copied it; every value is a pure function of (seed, row number, column), so a seed gives the same data.
- Postgres gets the current rows (COPY into tables marked as the generator's own; another table of the
  same name is refused, exit 3), the sink the old copies through the sink API.
- The ground truth is counted from the generator's own rows (world_truth.py), never with chsync's
  queries, and every row is checked to have come out as its kind says.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import psycopg

from ..errors import BadInput, RuntimeFailure
from ..progress import StepProgress
from ..schemas import tagged
from ..secrets import redact_url
from ..sink.base import ClickHouseSink
from ..spec import load_specs
from ..spec.model import TableSpec
from . import sink_rows, source_tables
from .drift import check_scale
from .source_model import read_model
from .world import make
from .world_truth import ground_truth


def is_seed(spec: TableSpec) -> bool:
    """Whether `spec` is the shipped seed spec (whatever its parameters, e.g. another customer), or the
    old-style settings file that overlays it: the seed's own generator makes its data."""
    seed = load_specs(None)[0]
    if spec.legacy:
        return True
    return dataclasses.replace(spec, params=seed.params, name=seed.name).fingerprint == seed.fingerprint


def generate(source_dsn: str, sink: ClickHouseSink, spec: TableSpec, *, scale: float = 0.05, seed: int = 1,
             progress: Callable[[str], None] | None = None, truth_path: str | Path | None = None) -> dict:
    """(Re)create the spec's source tables and a drifted sink; returns the ground truth (also written as
    JSON to `truth_path` when given). `progress(message)` receives log lines."""
    say = progress or (lambda message: None)
    model = read_model(spec)
    check_scale(scale)
    if not isinstance(seed, int) or isinstance(seed, bool) or abs(seed) >= 10 ** 12:
        raise BadInput(f"seed must be an integer below 10^12 in size, got {seed!r}")
    world = make(model, seed, scale)
    tables = model.all_tables()
    say(f"plan: {len(world.current):,} rows in {model.tables[model.base].name}, {len(world.sink):,} in the sink")
    try:
        with psycopg.connect(source_dsn, autocommit=True, options="-c TimeZone=UTC") as conn, \
                StepProgress(len(tables) + 2, "generate") as bar:
            source_tables.refuse_foreign(conn, tables)
            sink.init()
            truth = ground_truth(world, sink.capabilities.time_precision)
            bar.advance("ground truth counted and checked")
            source_tables.create(conn, tables)
            for table in tables:
                source_tables.fill(conn, table, world.postgres[table.name])
                say(f"Postgres: {len(world.postgres[table.name]):,} rows in {table.name}")
                bar.advance(table.name)
            written = sink_rows.write(sink, world, seed)
            sink.wait_for_replicas()
            say(f"sink: {written:,} rows written as the old job left them")
            bar.advance("sink")
    except psycopg.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RuntimeFailure(f"generating into Postgres at {redact_url(source_dsn)} failed: {first}") from None
    truth = tagged("generate", {"scale": scale, "seed": seed, **truth})
    if truth_path:
        Path(truth_path).write_text(json.dumps(truth, indent=2))
    return truth
