"""Benchmark (issue #5): `chsync diff` vs reladiff on the same Postgres and ClickHouse 18.16 tables, one run.

    python bench/bench_diff_peer.py --scale 1 [--workdir /tmp/chsync-bench-peer]
        [--runs table:16384,table:131072,view:131072,view:16384] [--reladiff-timeout 300]

Starts an embedded Postgres and the local ClickHouse 18.16 cluster (replicated layout, cityHash64 sharding,
as tests/cluster use), generates the seed-shaped drifted data onto it, then measures, each as its own process
(wall time and peak RSS of that process):

- `chsync diff --mode pull|push --from 2026-01-01 --to 2026-02-18 --json --limit 10000000` (pull: the
  cluster's rows copied over HTTP into an in-process chDB, which reads Postgres; push: each side hashes
  its own rows), checked to print the same document
- reladiff 0.6.0 through its Python API (`connect_to_table` + `diff_tables`, hashdiff), with
  bench/reladiff_ch1816_patch.py imported first, default settings (`bisection_threshold` 16384)
  and tuned (`bisection_threshold=131072`), on the live views below and on copies of them materialized as
  tables ordered by the String key (the preparation time is printed); a run past --reladiff-timeout is
  killed and reported as not finished.

reladiff compares two relations, so both sides get a view with the same ten columns, key `conversation_id`
as String (UUID order differs between Postgres and ClickHouse 18.16, so native UUID ranges are never bisected
across the two systems):
- Postgres `chsync_peer_source`: chsync's own source set (`PostgresSource._row_select(0)` + `_where`, i.e. the
  customer / source-type / agent-assistance / non-dev-agent filter, ended_at in the range), times truncated to
  seconds as UTC `timestamp`, labels sorted (COLLATE "C") and joined with '|'.
- ClickHouse `peer_sink` over the Distributed table: toString(conversation_id), the String columns as stored,
  the three DateTime columns, `arrayStringConcat(arraySort(labels), '|')`, ended_at in the range.
Then the key sets are compared: chsync's missing + stale + changed ids vs the keys of reladiff's +/- rows.
Prints a Markdown table. Everything it started is stopped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PATCH = str(Path(__file__).resolve().parent / "reladiff_ch1816_patch.py")
DATABASE = "alaska_air_us_east_1"
COLS = ("customer_id", "profile_id", "usecase_id", "agent_user_id", "source_type",
        "started_at", "ended_at", "labels", "updated_at")


# -- the reladiff child process ------------------------------------------------------------------

def reladiff_child(pg: str, relation: str, ch: str, ch_relation: str, threshold: int | None, out: str) -> None:
    """Runs in its own process so its peak RSS is its own."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("reladiff_ch1816_patch", PATCH)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # applies the patch on import
    from reladiff import connect_to_table, diff_tables
    t0 = time.monotonic()
    t1 = connect_to_table(pg, relation, "conversation_id", extra_columns=COLS)
    t2 = connect_to_table(ch, ch_relation, "conversation_id", extra_columns=COLS)
    kw = {} if threshold is None else {"bisection_threshold": threshold}
    plus, minus, rows = set(), set(), 0
    for sign, row in diff_tables(t1, t2, **kw):
        rows += 1
        (plus if sign == "+" else minus).add(row[0])
    seconds = time.monotonic() - t0
    Path(out).write_text(json.dumps({"plus": sorted(plus), "minus": sorted(minus), "rows": rows,
                                     "seconds": seconds}))


def _without_mode(doc: dict) -> str:
    return json.dumps({k: v for k, v in doc.items() if k != "mode"}, sort_keys=True)


def measured(argv: list[str], env: dict, ok: tuple[int, ...] = (0,),
             timeout: float | None = None) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, stdout) of one python process (argv after the interpreter)."""
    code = ("import sys, runpy; sys.argv = sys.argv[1:];\n"
            "try:\n    runpy.run_path(sys.argv[0], run_name='__main__') if sys.argv[0].endswith('.py') "
            "else runpy.run_module(sys.argv[0], run_name='__main__')\n"
            "finally:\n    print('PEAK_RSS_KB', "
            "[l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0], file=sys.stderr)")
    t0 = time.monotonic()
    # -P: the repository's own chsync must not shadow PYTHONPATH's (bench_sync.measured_chsync)
    done = subprocess.run([sys.executable, "-P", "-c", code, *argv], env=env, capture_output=True, text=True,
                          timeout=timeout)
    wall = time.monotonic() - t0
    if done.returncode not in ok:
        raise SystemExit(f"{argv[:2]} failed ({done.returncode}): {done.stderr[-3000:]}")
    rss = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    return wall, rss / 1024, done.stdout


# -- setup ---------------------------------------------------------------------------------------

def make_views(source_dsn: str, cluster, first: dt.date, last: dt.date) -> tuple[float, float]:
    import psycopg

    from chsync.source.sql import SourceSQL
    from chsync.spec import load_specs
    rows = SourceSQL(load_specs(None)[0], 0).read(first, last, with_hash=False)
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute("DROP VIEW IF EXISTS chsync_peer_source")
        conn.execute("DROP VIEW IF EXISTS chsync_peer_rows")
        conn.execute(f"CREATE VIEW chsync_peer_rows AS {rows}")
        conn.execute("""CREATE VIEW chsync_peer_source AS SELECT conversation_id, customer_id, profile_id, usecase_id,
            agent_user_id, source_type, started_at AT TIME ZONE 'UTC' AS started_at,
            ended_at AT TIME ZONE 'UTC' AS ended_at, array_to_string(labels, '|') AS labels,
            updated_at AT TIME ZONE 'UTC' AS updated_at FROM chsync_peer_rows""")
        # The same rows materialized, with the String key as primary key: reladiff's range queries on the view
        # cannot use an index (the key is c.id::text), so each one re-evaluates the whole filtered join.
        t0 = time.monotonic()
        conn.execute("DROP TABLE IF EXISTS chsync_peer_source_t")
        conn.execute("CREATE TABLE chsync_peer_source_t AS SELECT * FROM chsync_peer_source")
        conn.execute("ALTER TABLE chsync_peer_source_t ADD PRIMARY KEY (conversation_id)")
        conn.execute("ANALYZE chsync_peer_source_t")
        materialize_s = time.monotonic() - t0
    lo, hi = first.isoformat(), (last + dt.timedelta(days=1)).isoformat()
    client = cluster.client(0)
    client.execute(f"DROP TABLE IF EXISTS {DATABASE}.peer_sink")
    client.execute(f"""CREATE VIEW {DATABASE}.peer_sink AS SELECT toString(conversation_id) AS conversation_id,
        customer_id, profile_id, usecase_id, agent_user_id, source_type,
        toDateTime(toUInt32(started_at)) AS started_at, toDateTime(toUInt32(ended_at)) AS ended_at,
        arrayStringConcat(arraySort(labels), '|') AS labels, toDateTime(toUInt32(updated_at)) AS updated_at
        FROM {DATABASE}.conversation_with_labels_d
        WHERE ended_at >= toDateTime('{lo} 00:00:00', 'UTC') AND ended_at < toDateTime('{hi} 00:00:00', 'UTC')""")
    # The same on the ClickHouse side: its key is a UUID, so the view's String key ranges scan every row.
    t0 = time.monotonic()
    client.execute(f"DROP TABLE IF EXISTS {DATABASE}.peer_sink_t")
    client.execute(f"CREATE TABLE {DATABASE}.peer_sink_t ENGINE = MergeTree ORDER BY conversation_id "
                   f"AS SELECT * FROM {DATABASE}.peer_sink")
    return materialize_s, time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/chsync-bench-peer")
    parser.add_argument("--from", dest="first", default="2026-01-01")
    parser.add_argument("--to", dest="last", default="2026-02-18")
    parser.add_argument("--reladiff-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pg"), parser.add_argument("--ch"), parser.add_argument("--out")
    parser.add_argument("--threshold", type=int)
    parser.add_argument("--relation", default="chsync_peer_source")
    parser.add_argument("--ch-relation", default="peer_sink")
    parser.add_argument("--runs", default="table:16384,table:131072,view:131072,view:16384",
                        help="reladiff runs, KIND:BISECTION_THRESHOLD (view = the live views on both sides, "
                             "table = both materialized, ordered by the String key; 16384 is reladiff's default)")
    parser.add_argument("--reladiff-timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.reladiff_child:
        return reladiff_child(args.pg, args.relation, args.ch, args.ch_relation, args.threshold, args.out)

    from chsync import embedded
    from chsync.demo.generate import generate
    from chsync.sink import open_sink
    from chsync.spec import load_specs
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from harness.cluster import LocalCluster

    os.environ["PGTZ"] = "UTC"
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "spec.toml"
    spec = load_specs(None)[0]
    cfg.write_text(f"[sink]\nsharding_key = '{spec.sink.sharding_key}'\n")
    first, last = dt.date.fromisoformat(args.first), dt.date.fromisoformat(args.last)
    urls = embedded.up(work / "embedded")
    cluster = LocalCluster(work / "cluster")
    table, notes = [], []
    try:
        cluster.start()
        sink_url = cluster.url(DATABASE, cluster.cluster_replicated) + "&replicated=1"
        env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": sink_url, "PGTZ": "UTC"}
        measured(["chsync", "--config", str(cfg), "init", "--json"], env)
        t0 = time.monotonic()
        with open_sink(sink_url, spec) as sink:
            truth = generate(urls["source"], sink, scale=args.scale, seed=args.seed)
        gen_s = time.monotonic() - t0
        sink_total = cluster.client(0).execute(f"SELECT count() FROM {DATABASE}.conversation_with_labels_d")[0][0]
        print(f"generated in {gen_s:.1f} s: {sink_total:,} sink rows", file=sys.stderr)
        materialize_s, materialize_ch_s = make_views(urls["source"], cluster, first, last)
        print(f"views materialized: Postgres {materialize_s:.1f} s, ClickHouse {materialize_ch_s:.1f} s",
              file=sys.stderr)

        docs = {}
        for mode in ("pull", "push"):
            wall, rss, out = measured(["chsync", "--config", str(cfg), "diff", "--mode", mode, "--from", args.first,
                                       "--to", args.last, "--json", "--limit", "10000000"], env, ok=(0, 1))  # 1: drift
            doc = docs[mode] = json.loads(out)
            s = doc["samples"]
            missing, dups = set(s["missing"]), set(s["duplicates"])
            stale, changed = {x["id"] for x in s["stale"]}, {x["id"] for x in s["changed"]}
            assert len(missing) == doc["classes"]["missing"] and len(stale) == doc["classes"]["stale"], \
                "limit cut samples"
            chsync_keys = missing | stale | changed
            same = "" if mode == "pull" else (
                "; **the same document as pull**" if _without_mode(doc) == _without_mode(docs["pull"]) else
                "; NOT the same document as pull")
            how = {"pull": "the cluster's rows copied over HTTP into chDB, which reads Postgres",
                   "push": "Postgres and the cluster hash their own rows"}[mode]
            table.append((f"chsync diff --mode {mode} ({how})", wall, rss, None,
                          f"{len(missing):,} missing + {len(stale):,} stale + {len(changed):,} changed = "
                          f"{len(chsync_keys):,} ids; {len(dups):,} duplicated ids{same}"))
            print(f"chsync diff --mode {mode}: {wall:.1f} s, {rss:.0f} MB, {doc['classes']}", file=sys.stderr)

        pg = urls["source"]
        ch = f"clickhouse://chsync:{cluster.password}@127.0.0.1:{cluster.tcp_ports[0]}/{DATABASE}"
        for run in [r for r in args.runs.split(",") if r]:
            kind, threshold = run.split(":")
            relation, ch_relation = {"view": ("chsync_peer_source", "peer_sink"),
                                     "table": ("chsync_peer_source_t", "peer_sink_t")}[kind]
            label = (f"reladiff {'default' if threshold == '16384' else 'tuned'} (bisection_threshold {threshold}), "
                     f"{kind}s `{relation}` vs `{ch_relation}`")
            out_file = work / f"reladiff-{kind}-{threshold}.json"
            out_file.unlink(missing_ok=True)
            argv = [str(Path(__file__).resolve()), "--reladiff-child", "--pg", pg, "--relation", relation,
                    "--ch", ch, "--ch-relation", ch_relation, "--out", str(out_file), "--threshold", threshold]
            try:
                wall, rss, _ = measured(argv, env, timeout=args.reladiff_timeout)
            except subprocess.TimeoutExpired:
                table.append((label, args.reladiff_timeout, float("nan"), None,
                              f"did not finish within {args.reladiff_timeout:.0f} s (killed)"))
                print(f"{label}: timed out", file=sys.stderr)
                continue
            if not out_file.exists():
                raise SystemExit(f"{label}: no result written (reladiff failed silently?)")
            r = json.loads(out_file.read_text())
            plus, minus = set(r["plus"]), set(r["minus"])
            keys = plus | minus
            same = keys == chsync_keys
            extra, lacking = keys - chsync_keys, chsync_keys - keys
            detail = (f"{len(minus):,} '-' keys (Postgres side), {len(plus):,} '+' keys (ClickHouse side), "
                      f"{r['rows']:,} diff rows; union {len(keys):,} ids; "
                      + ("**same id set as chsync**" if same else
                         f"= chsync's missing + stale + changed + duplicated ids exactly ({len(extra):,} "
                         f"duplicated ids that chsync classes only as duplicates)" if keys == chsync_keys | dups else
                         f"not the same set: {len(extra):,} only in reladiff ({len(extra & dups):,} of them "
                         f"chsync duplicates), {len(lacking):,} only in chsync"))
            table.append((label, wall, rss, r["seconds"], detail))
            print(f"{label}: {wall:.1f} s, {rss:.0f} MB; {detail}", file=sys.stderr)
            notes.append({"label": label, "extra_sample": sorted(extra)[:5], "lacking_sample": sorted(lacking)[:5]})
    finally:
        cluster.stop()
        embedded.down(work / "embedded", purge=True)

    print(f"\nScale {args.scale} (seed {args.seed}), {sink_total:,} sink rows on 3 shards, "
          f"generate {gen_s:.1f} s, views materialized for reladiff in {materialize_s:.1f} s (Postgres) + "
          f"{materialize_ch_s:.1f} s (ClickHouse); "
          f"{os.cpu_count()} cores\n")
    print("| tool | wall (process) | peak RSS | diff only | differing ids found |")
    print("|---|---|---|---|---|")
    for name, wall, rss, inner, detail in table:
        peak = "" if rss != rss else f"{rss:,.0f} MB"     # NaN: a run killed at its timeout
        diff_only = "" if inner is None else f"{inner:.1f} s"
        print(f"| {name} | {wall:.1f} s | {peak} | {diff_only} | {detail} |")
    print("\nchsync classes:", json.dumps(doc["classes"]), "; generator truth keys:", sorted(truth)[:20])
    for n in notes:
        print("sample differences:", json.dumps(n))


if __name__ == "__main__":
    main()
