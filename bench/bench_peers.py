"""Benchmark: chsync beside Sling, dlt and connectorx copying the same filtered rows, side by side in one run.

    pip install sling-linux-amd64 'dlt[duckdb,parquet,sql_database]' connectorx
    PYTHONPATH=. python bench/bench_peers.py --scale 1 [--workdir /tmp/chsync-bench-peers] [--rounds 1]
        [--runs adbc,adbc-chdb,cx,chsync-sync,sling-parquet,dlt-pyarrow-duckdb,...] [--skip RUN,...]

On one embedded Postgres 15 + chDB holding the seed-shaped data at --scale (`chsync generate`'s generator,
then VACUUM ANALYZE), every peer copies THE SAME ROWS: the seed spec's source set of the 49 days
(2026-01-01 to 2026-02-18), i.e. the SQL of `SourceSQL(spec, 3).read(first, last, with_hash=False)`: the
customer / source-type / agent-assistance / non-dev-agent filter, `ended_at` in the range, times truncated
to the sink's milliseconds, labels aggregated per row (written to WORKDIR/query.sql). Each run is its own
process; its wall time (interpreter start and imports included), the rows it reports, its peak RSS, and for
the Python children the copy alone (timed inside the child from just before it connects):

- `adbc`: the floor of reading, one `adbc_driver_postgresql` read of the query into one Arrow table (the
  reader chsync uses), nothing written;
- `adbc-chdb`: the same read and one insert of the Arrow table into a scratch chDB table (bench_floor's F);
- `cx`: connectorx's `read_sql(..., return_type="arrow")` of the same query, nothing written;
- `chsync-sync`: `chsync sync` of the 49 days from the drifted sink (per day: read with its row hash,
  stage, check, REPLACE PARTITION; default workers);
- `sling-parquet` / `sling-csv`: `sling run --src-stream <query> --tgt-object file://…` (the binary of the
  `sling-linux-amd64` wheel);
- `dlt-pyarrow-duckdb`, `dlt-pyarrow-parquet`, `dlt-connectorx-duckdb`, `dlt-sqlalchemy-duckdb`: dlt's
  `sql_table` source (backend pyarrow, connectorx or its default sqlalchemy) on a Postgres view of the query,
  into a duckdb file or the filesystem destination (Parquet), write disposition replace.

Why peers do not write into chDB: chDB is ClickHouse inside this process, with no server to connect to;
Sling's and dlt's ClickHouse targets need a ClickHouse server. Their runs here are therefore their
read-and-stage path (Postgres to a local file or duckdb), which is what they would do before a ClickHouse
load; set them beside `adbc` (read only) and `adbc-chdb` / `chsync-sync` (read and write into the sink).

Peak RSS: for Python children their own VmHWM at exit (bench_diff_peer.measured); Sling is a Go binary, so
it is started by a small Python launcher that reads the binary's ru_maxrss from wait4 (the launcher's own
few MB at fork are its floor; the benchmark process itself is not, see BENCHMARKS.md's correction of
ru_maxrss). Prints a Markdown table; BENCHMARKS.md's "Peers" quotes it with this command line.

The `sling` wheel is a wrapper that downloads its binary at import time (no network here), so this script
runs the binary of `sling-linux-amd64` (or $SLING_BINARY) itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

RUNS = ["adbc", "adbc-chdb", "cx", "chsync-sync", "sling-parquet", "sling-csv", "dlt-pyarrow-duckdb",
        "dlt-pyarrow-parquet", "dlt-connectorx-duckdb", "dlt-sqlalchemy-duckdb"]
VIEW = "chsync_peer_rows"
LABELS = {
    "adbc": "ADBC read (`adbc_driver_postgresql`, one Arrow table): the floor, nothing written",
    "adbc-chdb": "ADBC read + one insert into a chDB table (bench_floor's F)",
    "cx": "connectorx read (`read_sql`, Arrow), nothing written",
    "chsync-sync": "`chsync sync` of the 49 days into chDB (read + hash, stage, check, swap per day)",
    "sling-parquet": "Sling: Postgres → local Parquet file",
    "sling-csv": "Sling: Postgres → local CSV file",
    "dlt-pyarrow-duckdb": "dlt `sql_table` (backend pyarrow) → duckdb",
    "dlt-pyarrow-parquet": "dlt `sql_table` (backend pyarrow) → filesystem, Parquet",
    "dlt-connectorx-duckdb": "dlt `sql_table` (backend connectorx) → duckdb",
    "dlt-sqlalchemy-duckdb": "dlt `sql_table` (default backend sqlalchemy) → duckdb",
}


def query(first: str, last: str) -> str:
    from chsync.source.sql import SourceSQL
    from chsync.spec import load_specs
    # precision 3: the chDB sink stores milliseconds, so every peer reads what a sync would write
    return SourceSQL(load_specs(None)[0], 3).read(dt.date.fromisoformat(first), dt.date.fromisoformat(last),
                                                   with_hash=False)


# -- the children: each runs in its own process and prints {"rows": N} ------------------------------------

def child(kind: str, sql_file: str, out_dir: str) -> None:
    source = os.environ["CHSYNC_SOURCE"]
    sql = Path(sql_file).read_text()
    if kind in ("adbc", "adbc-chdb"):
        import adbc_driver_postgresql.dbapi as adbc
        t0 = time.monotonic()
        with adbc.connect(source) as conn, conn.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(sql)
            data = cur.fetch_arrow_table()
        rows = data.num_rows
        if kind == "adbc-chdb":
            from chsync.sink import open_sink
            from chsync.spec import load_specs
            with open_sink(os.environ["CHSYNC_SINK"], load_specs(None)[0]) as sink:
                sink.execute("DROP TABLE IF EXISTS bench_peers")
                sink.execute(f"CREATE TABLE bench_peers AS {sink.table}")
                sink.insert_arrow("bench_peers", data)
                rows = sink.rows("SELECT count() FROM bench_peers")[0][0]
                sink.execute("DROP TABLE bench_peers")
    elif kind == "cx":
        import connectorx as cx
        t0 = time.monotonic()
        rows = cx.read_sql(_plain_url(source), sql, return_type="arrow").num_rows
    elif kind.startswith("dlt-"):
        rows, t0 = _dlt(kind, source, out_dir)
    else:
        raise SystemExit(f"unknown child {kind}")
    # the copy alone, without the interpreter's start and the imports that the process wall includes
    print(json.dumps({"rows": rows, "seconds": time.monotonic() - t0}))


def _plain_url(url: str) -> str:
    """connectorx, dlt and Sling parse a postgresql:// URL themselves; keep only what they all accept."""
    return url.replace("postgres://", "postgresql://", 1)


def _dlt(kind: str, source: str, out_dir: str) -> tuple[int, float]:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    import dlt
    from dlt.sources.sql_database import sql_table
    _, backend, dest = kind.split("-")
    # the view holds the same SQL as the others read: sql_table reflects a table or view, and the filter and
    # the label aggregation are part of the query, not expressible as one table + a column filter
    resource = sql_table(credentials=_plain_url(source), table=VIEW, backend=backend)
    work = Path(out_dir) / kind
    destination = (dlt.destinations.duckdb(str(work / "dlt.duckdb")) if dest == "duckdb"
                   else dlt.destinations.filesystem(f"file://{work / 'files'}"))
    pipeline = dlt.pipeline(pipeline_name=kind.replace("-", "_"), destination=destination, dataset_name="peers",
                            pipelines_dir=str(work / "pipelines"))
    file_format = "parquet" if dest == "parquet" else None
    t0 = time.monotonic()
    pipeline.run(resource, write_disposition="replace", loader_file_format=file_format)
    return pipeline.last_trace.last_normalize_info.row_counts[VIEW], t0


# -- Sling: a Go binary, measured through a launcher -------------------------------------------------------

LAUNCHER = ("import os, subprocess, sys\n"
            "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)\n"
            "out = p.stdout.read()\n"
            "_, status, usage = os.wait4(p.pid, 0)\n"
            "sys.stdout.buffer.write(out)\n"
            "print('PEAK_RSS_KB', usage.ru_maxrss, file=sys.stderr)\n"
            "sys.exit(os.waitstatus_to_exitcode(status))\n")


def sling_binary() -> str:
    if os.environ.get("SLING_BINARY"):
        return os.environ["SLING_BINARY"]
    from sling_linux_amd64 import SLING_BIN
    return SLING_BIN


def run_sling(kind: str, sql: str, env: dict, out_dir: Path) -> tuple[float, float, int]:
    target = out_dir / f"{kind}.{kind.split('-')[1]}"
    target.unlink(missing_ok=True)
    url = _plain_url(env["CHSYNC_SOURCE"])
    if "sslmode=" not in url:  # Sling's driver insists on TLS unless told otherwise; the embedded server has none
        url += ("&" if "?" in url else "?") + "sslmode=disable"
    sling_env = {**env, "PG": url, "SLING_HOME_DIR": str(out_dir / "sling-home"),
                 "SLING_DISABLE_TELEMETRY": "true",
                 # Sling otherwise writes Parquet through a duckdb CLI it downloads at run time; its own
                 # writer needs nothing from outside
                 "SLING_DUCKDB_COMPUTE": "false"}
    argv = [sling_binary(), "run", "--src-conn", "PG", "--src-stream", sql, "--tgt-object", f"file://{target}"]
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-P", "-c", LAUNCHER, *argv], env=sling_env, capture_output=True,
                          text=True)
    wall = time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed ({done.returncode}): {done.stdout[-3000:]}")
    rss = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    wrote = re.search(r"wrote ([\d,]+) rows", done.stdout)
    return wall, rss / 1024, int(wrote.group(1).replace(",", "")) if wrote else -1


# -- the run -------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/chsync-bench-peers")
    parser.add_argument("--rounds", type=int, default=1, help="runs of every peer, alternating (median wall)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"which, in order (of {', '.join(RUNS)})")
    parser.add_argument("--skip", default="", help="runs left out of --runs (comma-separated)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sql-file", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.sql_file, args.out_dir)

    import psycopg
    from bench_diff_peer import measured
    from bench_floor import Snapshots
    from bench_sync import FROM, TO, measured_chsync, regenerate

    from chsync import embedded

    skip = {r for r in args.skip.split(",") if r}
    runs = [r for r in args.runs.split(",") if r and r not in skip]
    unknown = (set(runs) | skip) - set(RUNS)
    if unknown:
        raise SystemExit(f"unknown runs: {', '.join(sorted(unknown))}")
    print("command: PYTHONPATH=. python bench/bench_peers.py " + " ".join(sys.argv[1:]), flush=True)
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    out_dir = work / "out"
    out_dir.mkdir(exist_ok=True)
    os.environ["PGTZ"] = "UTC"
    urls = embedded.up(work / "embedded")
    env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": urls["sink"], "PGTZ": "UTC"}
    results: dict[str, list[tuple[float, float, int, float | None]]] = {}
    try:
        print(f"scale {args.scale}: generating…", file=sys.stderr, flush=True)
        gen_s = regenerate(urls, args.scale, args.seed)
        sql = query(FROM, TO)
        sql_file = work / "query.sql"
        sql_file.write_text(sql)
        with psycopg.connect(urls["source"], autocommit=True) as conn:
            conn.execute(f"DROP VIEW IF EXISTS {VIEW}")
            conn.execute(f"CREATE VIEW {VIEW} AS {sql}")
            expected = conn.execute(f"SELECT count(*) FROM {VIEW}").fetchone()[0]  # also warms the cache
        snapshots = Snapshots(urls["sink"])
        snapshots.take("drifted")
        for _ in range(args.rounds):
            for kind in runs:
                if kind == "chsync-sync":
                    snapshots.restore("drifted")
                    wall, rss, out = measured_chsync(env, "sync", "--from", FROM, "--to", TO, "--json")
                    rows, inner = json.loads(out)["rows_written"], None
                elif kind.startswith("sling-"):
                    wall, rss, rows = run_sling(kind, sql, env, out_dir)
                    inner = None
                else:
                    # every run starts from nothing: no dlt pipeline state or earlier load left behind
                    shutil.rmtree(out_dir / kind, ignore_errors=True)
                    wall, rss, out = measured([str(Path(__file__).resolve()), "--child", kind, "--sql-file",
                                               str(sql_file), "--out-dir", str(out_dir)], env)
                    doc = json.loads(out.strip().splitlines()[-1])
                    rows, inner = doc["rows"], doc["seconds"]
                results.setdefault(kind, []).append((wall, rss, rows, inner))
                print(f"  {kind}: {wall:.1f} s, {rss:,.0f} MB, {rows:,} rows", file=sys.stderr, flush=True)
    finally:
        embedded.down(work / "embedded", purge=True)

    print(f"\nScale {args.scale} (seed {args.seed}): {expected:,} rows in the source set of {FROM} – {TO}; "
          f"data generated in {gen_s:.0f} s; {os.cpu_count()} cores; {args.rounds} round(s), median wall\n")
    print("| run | rows | wall (process) | rows/s (process) | the copy alone | peak RSS |")
    print("|---|---|---|---|---|---|")
    for kind in runs:
        done = results[kind]
        wall = statistics.median(w for w, _, _, _ in done)
        rows = done[-1][2]
        note = "" if rows == expected else f" (expected {expected:,})"
        inners = [i for _, _, _, i in done if i is not None]
        inner = f"{statistics.median(inners):.1f} s" if inners else ""
        print(f"| {LABELS[kind]} | {rows:,}{note} | {wall:.1f} s | {rows / wall:,.0f} | {inner} | "
              f"{max(r for _, r, _, _ in done):,.0f} MB |")


if __name__ == "__main__":
    main()
