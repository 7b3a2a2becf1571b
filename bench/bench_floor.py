"""Benchmark: every command a user runs on the seed's 49 days, beside the floor F from the same run, at
each scale, with a baseline commit run alternately on the same data.

    python bench/bench_floor.py --scales 1,3 [--baseline GIT_REV] [--runs 1] [--demo] [--workers N]
        [--workdir DIR]

F, the floor: the cheapest honest copy of the same filtered rows — one ADBC read of the spec's source
set (arrays aggregated by one GROUP BY join per child table) and one insert of that Arrow table into a
scratch table of the sink. Then, each as its own `chsync` process (wall time and the child's own peak
RSS, VmHWM), on the same data for every version:

- `verify` of the 49 days, in sync;
- the daily job's check of the 49 in-sync days (`sync --from --to --only-drifted`, which writes nothing
  when nothing drifted; the baseline has no such command);
- `diff --json` after every row of the sink was changed (one ALTER UPDATE of a text column);
- `backfill --strategy swap --yes` of the drifted 49 days (plan + swap + verify);
- `sync` of the 49 days (from the drifted state);
- with --demo, `chsync demo` at each scale (it makes its own data: act 1 and, where there is one, act 2).

`--workers N` passes the same `--workers N` to every version's sync and backfill (versions whose default
differs are then compared like for like). Before every measured run the chDB directory is restored from a
copy (drifted, or in sync), so every version starts from the same bytes; the copies hold no journal,
which each version writes its own way. Prints one Markdown table per scale; BENCHMARKS.md quotes it with
this command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from bench_diff import _export
from bench_sync import FROM, SPEC, TO, measured_chsync, regenerate

from chsync import embedded
from chsync.sink import open_sink
from chsync.source.sql import SourceSQL

JOURNAL = ("chsync_runs", "chsync_journal", "chsync_locks")


def floor_query() -> str:
    """The source set of the range as the sink stores it, arrays from one GROUP BY join per child table."""
    import datetime as dt
    sql = SourceSQL(SPEC, 3)
    cols, joins = [], []
    for i, col in enumerate(SPEC.columns):
        if col.child is None:
            cols.append(f"{sql.value(col)} AS {col.name}")
            continue
        ch = col.child
        joins.append(f"LEFT JOIN (SELECT {ch.key} AS k, array_agg({ch.value}::text ORDER BY {ch.value}::text "
                     f"COLLATE \"C\") AS v FROM {ch.table} GROUP BY {ch.key}) AS agg{i} ON agg{i}.k = {sql.key_expr}")
        cols.append(f"coalesce(agg{i}.v, '{{}}') AS {col.name}")
    first, last = dt.date.fromisoformat(FROM), dt.date.fromisoformat(TO)
    return f"SELECT {', '.join(cols)} {sql.source_set(first, last, ' '.join(joins))}"


def floor(urls: dict) -> tuple[float, int]:
    """F: one ADBC read + one insert into a scratch table, in this process (seconds, rows)."""
    import adbc_driver_postgresql.dbapi as adbc
    with open_sink(urls["sink"], SPEC) as sink:
        sink.execute("DROP TABLE IF EXISTS bench_floor")
        sink.execute(f"CREATE TABLE bench_floor AS {sink.table}")
        started = time.monotonic()
        with adbc.connect(urls["source"]) as conn, conn.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(floor_query())
            data = cur.fetch_arrow_table()
        sink.insert_arrow("bench_floor", data)
        seconds = time.monotonic() - started
        rows = sink.rows("SELECT count() FROM bench_floor")[0][0]
        sink.execute("DROP TABLE bench_floor")
    return seconds, rows


class Snapshots:
    """Copies of the chDB directory to restore before each measured run."""

    def __init__(self, sink_url: str):
        self.dir = Path(sink_url.removeprefix("chdb://"))

    def take(self, name: str) -> None:
        with open_sink(f"chdb://{self.dir}", SPEC) as sink:
            for table in JOURNAL:
                sink.execute(f"DROP TABLE IF EXISTS {sink.db}.{table}")
        target = self.dir.with_name(self.dir.name + "." + name)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.dir, target, symlinks=True)

    def restore(self, name: str) -> None:
        shutil.rmtree(self.dir)
        shutil.copytree(self.dir.with_name(self.dir.name + "." + name), self.dir, symlinks=True)


def change_every_row() -> str:
    """An ALTER UPDATE that changes one compared text column of every sink row."""
    col = next(c for c in SPEC.compared if c.type.kind == "text" and not c.type.is_array
               and c.name not in (SPEC.key, *SPEC.sink.order_by))
    return f"UPDATE {col.name} = concat({col.name}, '~') WHERE 1"


RANGE = ["--from", FROM, "--to", TO]
STEPS = [  # (label, snapshot to start from, argv, exit codes that are fine, needs a command the baseline lacks)
    ("verify, 49 days in sync", "in-sync", ["verify", *RANGE, "--json"], (0,), False),
    ("daily check of 49 in-sync days (sync --only-drifted)", "in-sync",
     ["sync", *RANGE, "--only-drifted", "--json"], (0,), True),
    ("diff --json, every row changed", "all-changed", ["diff", *RANGE, "--json"], (1,), False),
    ("backfill --strategy swap --yes (plan + swap + verify)", "drifted",
     ["backfill", *RANGE, "--strategy", "swap", "--yes", "--json"], (0,), False),
    ("sync of 49 days", "drifted", ["sync", *RANGE, "--json"], (0,), False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,3")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="measured runs per step and version (median)")
    parser.add_argument("--baseline", metavar="GIT_REV", help="also run this commit's chsync, alternately")
    parser.add_argument("--demo", action="store_true", help="also time `chsync demo` at each scale")
    parser.add_argument("--workers", type=int, help="pass --workers N to sync and backfill (every version)")
    parser.add_argument("--workdir", default="/tmp/chsync-bench-floor")
    args = parser.parse_args()
    print("command: python bench/bench_floor.py " + " ".join(sys.argv[1:]), flush=True)
    urls = embedded.up(args.workdir)
    env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": urls["sink"], "PGTZ": "UTC"}
    versions = {"this tree": env}
    if args.baseline:
        versions[f"baseline {args.baseline}"] = {**env, "PYTHONPATH": _export(args.baseline)}
    snapshots = Snapshots(urls["sink"])
    for scale in [float(s) for s in args.scales.split(",")]:
        print(f"scale {scale}: generating…", file=sys.stderr, flush=True)
        generated = regenerate(urls, scale, args.seed)
        snapshots.take("drifted")
        floor_s, floor_rows = min(floor(urls) for _ in range(2))
        measured_chsync(env, "sync", *RANGE, "--json")
        snapshots.take("in-sync")
        with open_sink(urls["sink"], SPEC) as sink:
            sink.execute(f"ALTER TABLE {sink.table} {change_every_row()}")
        snapshots.take("all-changed")
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for label, snapshot, argv, codes, new in STEPS:
            if args.workers and argv[0] in ("sync", "backfill"):
                argv = [*argv, "--workers", str(args.workers)]
            for _ in range(args.runs):
                for version, version_env in versions.items():
                    if new and version != "this tree":
                        continue
                    snapshots.restore(snapshot)
                    wall, rss, _ = measured_chsync(version_env, *argv, expect=codes)
                    results.setdefault((label, version), []).append((wall, rss))
                    print(f"  {label} [{version}]: {wall:.1f} s, {rss:,.0f} MB", file=sys.stderr, flush=True)
        if args.demo:
            for version, version_env in versions.items():
                workdir = Path(args.workdir) / f"demo-{scale}"
                shutil.rmtree(workdir, ignore_errors=True)
                wall, rss, _ = measured_chsync(version_env, "demo", "--scale", str(scale), "--workdir",
                                               str(workdir), "--json")
                results[("chsync demo (end to end)", version)] = [(wall, rss)]
                measured_chsync(version_env, "embedded", "down", "--workdir", str(workdir), expect=(0, 1, 2))
        _print(scale, generated, floor_s, floor_rows, results, list(versions))
    embedded.down(args.workdir, purge=True)


def _print(scale, generated, floor_s, floor_rows, results, versions) -> None:
    print(f"\n### Scale {scale} ({floor_rows:,} rows in the range; data generated in {generated:.0f} s; "
          f"{os.cpu_count()} cores)\n")
    print("| step | " + " | ".join(f"{v}: wall (× F) | {v}: peak RSS" for v in versions) + " |")
    print("|---|" + "---|---|" * len(versions))
    print(f"| F: one ADBC read + one insert | {floor_s:.1f} s (1.00) |  |" + " — | — |" * (len(versions) - 1))
    labels = dict.fromkeys(label for label, _ in results)
    for label in labels:
        cells = []
        for v in versions:
            runs = results.get((label, v))
            if not runs:
                cells += ["—", "—"]
                continue
            wall = statistics.median(w for w, _ in runs)
            cells += [f"{wall:.1f} s ({wall / floor_s:.2f})", f"{max(r for _, r in runs):,.0f} MB"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(flush=True)


if __name__ == "__main__":
    main()
