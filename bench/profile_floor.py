"""Profile: where the checked path's time goes, against the floor F, in one process on the seed's 49 days.

    python bench/profile_floor.py --scale 1 [--seed 1] [--workdir DIR]

bench_floor.py says how far each command is from F; this says why, part by part. Each part runs alone,
one after another, so its time is the CPU time of the engine doing it (a day's read is one Postgres
backend; the range fingerprint and F's read use Postgres's parallel workers):

- F and F's read alone (the range in one statement, arrays by one GROUP BY join, no hash);
- the sync's and the swap's read, day by day, with the row hash Postgres computes for the check after
  the write, and the same reads without it;
- the sink's side of a swapped day (guards, stage insert, staging fingerprint, REPLACE PARTITION,
  live fingerprint), summed over the days;
- the verify's and the daily check's source side: Postgres's fingerprint of the range;
- the plan's diff (what a backfill does before its swap, on the drifted sink), without explanations.

Then the bound these set on 2 cores: a sync cannot take less than (reads + sink side) / cores, and a
backfill less than the plan's diff plus that. Prints Markdown; BENCHMARKS.md quotes it with the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

from bench_floor import floor, floor_query
from bench_sync import FROM, SPEC, TO, generated

from chsync.dates import day_range
from chsync.scope import build_scope
from chsync.sink import open_sink
from chsync.source.postgres import PostgresSource
from chsync.source.sql import HASH


def timed(f):
    t0 = time.monotonic()
    result = f()
    return time.monotonic() - t0, result


def profile(urls: dict) -> list[tuple[str, float, str]]:
    """[(part, seconds, what it is)] on the generated data (the sink as the generator drifted it)."""
    first, last = dt.date.fromisoformat(FROM), dt.date.fromisoformat(TO)
    days = day_range(first, last)
    parts: list[tuple[str, float, str]] = []
    floor_s, rows = min(floor(urls) for _ in range(2))
    parts.append(("F: one read + one insert", floor_s, f"{rows:,} rows"))
    source = PostgresSource(urls["source"], SPEC)
    sink = open_sink(urls["sink"], SPEC)
    try:
        precision = sink.capabilities.time_precision
        source.arrow(floor_query())   # warm: the first statement of a connection pays for its catalog reads
        parts.append(("F's read alone", min(timed(lambda: source.arrow(floor_query()))[0] for _ in range(2)),
                      "the range in one statement, no hash"))
        parts.append(("the plan's diff (scope, no explanations)",
                      timed(lambda: build_scope(source, sink, first, last, explain=False))[0],
                      "the sink as generated: drifted"))
        hashed = plain = 0.0
        reads = {}
        for day in days:
            seconds, reads[day] = timed(lambda d=day: source.read_range(d, d, precision))
            hashed += seconds
            plain += timed(lambda d=day: source.arrow(source.sql(precision).read(d, d, with_hash=False)))[0]
        parts.append(("day reads with the row hash (sync, swap)", hashed, f"{len(days)} statements, one backend"))
        parts.append(("the same reads without the hash", plain, "what the hash costs: the difference"))
        sink.stage_suffix = "_profile"
        sink_side = 0.0
        for day in days:
            data = reads.pop(day)

            def swap(d=day, data=data):
                if sink.day_rows(d, d):
                    sink.range_totals(d, d)
                stage = sink.stage_day(d, data.drop_columns([HASH]))
                sink.table_fingerprint(stage, d, d)
                sink.swap_in(d, lambda node: None)
                sink.drop_stage(d)
                sink.table_fingerprint(sink.read_table, d, d)
            sink_side += timed(swap)[0]
        parts.append(("the sink's side of the swapped days", sink_side,
                      "guards, stage insert, staging and live fingerprints, REPLACE PARTITION"))
        parts.append(("Postgres's fingerprint of the range (verify, check)",
                      timed(lambda: source.day_fingerprints(first, last, precision))[0], "parallel workers"))
    finally:
        source.close()
        sink.close()
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="chsync-profile-floor")
    args = parser.parse_args()
    print("command: python bench/profile_floor.py " + " ".join(sys.argv[1:]), flush=True)
    with generated(args.workdir, args.scale, args.seed) as urls:
        parts = profile(urls)
    f = parts[0][1]
    cores = os.cpu_count() or 1
    print(f"\n### Scale {args.scale} ({cores} cores)\n")
    print("| part | seconds | × F | what |")
    print("|---|---|---|---|")
    for name, seconds, what in parts:
        print(f"| {name} | {seconds:.2f} | {seconds / f:.2f} | {what} |")
    value = {name: seconds for name, seconds, _ in parts}
    sink_side = value["the sink's side of the swapped days"]
    sync_bound = (value["day reads with the row hash (sync, swap)"] + sink_side) / cores
    plain_bound = (value["the same reads without the hash"] + sink_side) / cores
    diff = value["the plan's diff (scope, no explanations)"]
    print(f"\nOn {cores} cores, with both kept busy all the time: a sync of the range takes at least "
          f"{sync_bound:.2f} s ({sync_bound / f:.2f} F); without the row hash it would be {plain_bound:.2f} s "
          f"({plain_bound / f:.2f} F). A backfill (plan's diff + swap) at least {diff + sync_bound:.2f} s "
          f"({(diff + sync_bound) / f:.2f} F).", flush=True)


if __name__ == "__main__":
    main()
