"""Benchmark: chsync's daily sync of every day vs the floor, on embedded Postgres + chDB, in one run.

    python bench/bench_sync.py --scale 1 [--workdir /tmp/chsync-bench] [--strategies swap,bulk]

Each measured step runs as its own `chsync` process so its wall time and peak RSS are its own.
The floor: ONE `INSERT … SELECT … FROM postgresql()` of the same filtered rows (a Postgres view running
chsync's own filter and label aggregation) into a scratch chDB table, no Python in the data path.
Prints a Markdown table; paste it into BENCHMARKS.md with the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time

import psycopg

from chsync import embedded
from chsync.demo.generate import generate
from chsync.sink import open_sink
from chsync.source.sql import SourceSQL
from chsync.spec import load_specs

SPEC = load_specs(None)[0]
COLUMNS = SPEC.names

FROM, TO = "2026-01-01", "2026-02-18"


def measured_chsync(env: dict, *args: str, expect: tuple[int, ...] = (0,)) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one chsync process; `expect`: the exit codes that are fine.
    Peak RSS is the child's VmHWM: getrusage's ru_maxrss survives fork + exec, so a child would report
    this benchmark's own peak whenever that is higher (earlier figures here read 931 MB for that reason)."""
    code = ("import sys, runpy; sys.argv = ['chsync', *sys.argv[1:]];\n"
            "try:\n    runpy.run_module('chsync', run_name='__main__')\n"
            "finally:\n    print('PEAK_RSS_KB', "
            "[l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0], file=sys.stderr)")
    t0 = time.monotonic()
    # -P: `python -c` would put the current directory first on sys.path, and run from the repository that
    # is this tree's chsync package, whatever PYTHONPATH names (a baseline ran this tree's code that way)
    done = subprocess.run([sys.executable, "-P", "-c", code, *args], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if done.returncode not in expect:
        raise SystemExit(f"chsync {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    rss = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    return wall, rss / 1024, done.stdout


def regenerate(urls: dict, scale: float, seed: int) -> float:
    """Seconds to generate the data; then Postgres is vacuumed, as autovacuum would leave a database that
    was not just loaded (measured otherwise, the first minute's reads compete with autovacuum and with
    setting hint bits on every page)."""
    t0 = time.monotonic()
    with open_sink(urls["sink"], SPEC) as sink:
        generate(urls["source"], sink, scale=scale, seed=seed)
    seconds = time.monotonic() - t0
    with psycopg.connect(urls["source"], autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return seconds


@contextlib.contextmanager
def generated(workdir: str, scale: float, seed: int):
    """Embedded Postgres + chDB in `workdir` holding freshly generated, vacuumed data: their URLs. Stopped
    on the way out."""
    urls = embedded.up(workdir)
    try:
        print(f"scale {scale}: generating…", file=sys.stderr, flush=True)
        regenerate(urls, scale, seed)
        yield urls
    finally:
        embedded.down(workdir, purge=True)


def floor(urls: dict) -> tuple[float, int]:
    """One INSERT … SELECT FROM postgresql() of the filtered rows into a scratch table."""
    import datetime as dt
    # the same columns and expressions as a sync reads
    rows_sql = SourceSQL(SPEC, 3).read(dt.date.fromisoformat(FROM), dt.date.fromisoformat(TO), with_hash=False)
    with psycopg.connect(urls["source"], autocommit=True) as conn:
        conn.execute("DROP VIEW IF EXISTS chsync_bench_source")
        # labels travel as one text (postgresql() cannot infer the type of an empty first array)
        plain = ", ".join(f"v.{c}" for c in COLUMNS if c != "labels")
        conn.execute(f"CREATE VIEW chsync_bench_source AS SELECT {plain}, array_to_string(v.labels, E'\\x1f') "
                     f"AS labels_text FROM ({rows_sql}) v")
    port = urls["source"].rsplit(":", 1)[1].split("/")[0]
    with open_sink(urls["sink"], SPEC) as sink:
        sink.execute("DROP TABLE IF EXISTS bench_floor")
        sink.execute(f"CREATE TABLE bench_floor AS {sink.table}")
        cols = ", ".join(COLUMNS)
        select_cols = cols.replace("labels", "if(labels_text = '', [], splitByChar('\\x1f', labels_text)) AS labels")
        t0 = time.monotonic()
        sink.execute(f"INSERT INTO bench_floor ({cols}) SELECT {select_cols} FROM "
                     f"postgresql('127.0.0.1:{port}', 'chsync', 'chsync_bench_source', 'postgres', '')")
        seconds = time.monotonic() - t0
        rows = sink.rows("SELECT count() FROM bench_floor")[0][0]
        sink.execute("DROP TABLE bench_floor")
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/chsync-bench")
    parser.add_argument("--strategies", default="swap,bulk")
    args = parser.parse_args()
    os.environ["PGTZ"] = "UTC"  # postgresql() returns timestamptz in the session's zone
    urls = embedded.up(args.workdir)
    env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": urls["sink"], "PGTZ": "UTC"}
    rows = []

    gen_s = regenerate(urls, args.scale, args.seed)
    rows.append(("generate (Postgres + drifted sink)", gen_s, float("nan"), "", ""))
    fl_s, fl_rows = floor(urls)
    rows.append(("floor: one INSERT…SELECT FROM postgresql()", fl_s, float("nan"), f"{fl_rows:,}", "1.0×"))

    for name, cmd in [("scope (before)", ["scope", "--from", FROM, "--to", TO, "--json"])]:
        wall, rss, _ = measured_chsync(env, *cmd)
        rows.append((name, wall, rss, "", ""))
    wall, rss, out = measured_chsync(env, "sync", "--from", FROM, "--to", TO, "--json")
    written = json.loads(out)["rows_written"]
    rows.append(("chsync sync, 49 days (stage + REPLACE PARTITION)", wall, rss, f"{written:,}", f"{wall / fl_s:.1f}×"))
    wall, rss, _ = measured_chsync(env, "verify", "--from", FROM, "--to", TO, "--json")
    rows.append(("verify (in sync)", wall, rss, "", ""))

    for strategy in [s for s in args.strategies.split(",") if s]:
        regenerate(urls, args.scale, args.seed)
        wall, rss, out = measured_chsync(env, "backfill", "--from", FROM, "--to", TO, "--strategy", strategy,
                                         "--yes", "--json")
        result = json.loads(out)
        window = read_window(result)
        rows.append((f"chsync backfill --strategy {strategy} (incl. plan + verify)", wall, rss,
                     f"{result['rows_written']:,}", f"{wall / fl_s:.1f}×; read window {window}"))

    print(f"\nScale {args.scale} (seed {args.seed}); {os.cpu_count()} cores\n")
    print("| step | wall | peak RSS | rows | vs floor |")
    print("|---|---|---|---|---|")
    for name, wall, rss, n, ratio in rows:
        print(f"| {name} | {wall:.1f} s | {'' if rss != rss else f'{rss:,.0f} MB'} | {n} | {ratio} |")


def read_window(result: dict) -> str:
    """What readers could see: swap replaces each day atomically; bulk empties the range from its DELETE
    until every day is re-inserted (from the run's timeline)."""
    if result["strategy"] == "swap":
        return "0 s"
    steps = {s["step"].split(" ")[0]: s for s in result["timeline"]}
    if "Bulk" in steps and "Backfill" in steps:
        seconds = steps["Bulk"]["seconds"] + steps["Backfill"]["seconds"]
        return f"{seconds:.1f} s (range empty or partial)"
    return "per day while it reloads"


if __name__ == "__main__":
    main()
