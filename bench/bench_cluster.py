"""Benchmark (issue #4): backfill on the local 3-shard ClickHouse 18.16 cluster vs the same data on chDB, one run.

    python bench/bench_cluster.py --scale 0.2 [--workdir /tmp/chsync-bench-cluster] [--strategies swap,bulk]
                                  [--sinks cluster,replicas,chdb]

`replicas` is the same cluster with 2 replicas per shard (each write waited for and proven on every
replica).

One embedded Postgres (the source of both), the local cluster (`tests/harness/cluster.py`:
ZooKeeper + 3 shards x 1 replica) with the layout the cluster tests use (`?cluster=replicated&replicated=1`:
ReplicatedReplacingMergeTree local tables, a Distributed table sharded by
cityHash64(toString(conversation_id))), and the embedded chDB directory. For each sink and strategy:
generate the seed-shaped drifted data (same scale and seed, so the same rows), then time ONE
`chsync backfill --from 2026-01-01 --to 2026-02-18 --strategy S --yes --json` process against it
(wall, peak RSS; rows written and the final verify from its JSON). Prints a Markdown table.
Everything it started (cluster, Postgres) is stopped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_sync import FROM, TO, measured_chsync, read_window
from harness.cluster import LocalCluster

from chsync import embedded
from chsync.demo.generate import generate
from chsync.sink import open_sink
from chsync.spec import TableSpec, load_specs

DATABASE = "alaska_air_us_east_1"
SHARDING_KEY = load_specs(None)[0].sink.sharding_key  # cityHash64(toString(conversation_id)), as tests/cluster use


def source_tables_for_init(urls: dict, spec: TableSpec, seed: int) -> None:
    """`init` checks the spec against Postgres: a small generation into the chDB sink makes the source
    tables, which each sink's own generation then replaces."""
    regenerate(urls["source"], urls["sink"], spec, 0.01, seed)


def regenerate(source: str, sink_url: str, spec: TableSpec, scale: float, seed: int) -> tuple[float, dict]:
    t0 = time.monotonic()
    with open_sink(sink_url, spec) as sink:
        truth = generate(source, sink, scale=scale, seed=seed)
    return time.monotonic() - t0, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/chsync-bench-cluster")
    parser.add_argument("--strategies", default="swap,bulk")
    parser.add_argument("--sinks", default="cluster,chdb")
    args = parser.parse_args()
    os.environ["PGTZ"] = "UTC"
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "spec.toml"
    cfg.write_text(f"[sink]\nsharding_key = '{SHARDING_KEY}'\n")
    spec = load_specs(None)[0]

    urls = embedded.up(work / "embedded")
    wanted = [s for s in args.sinks.split(",") if s]
    clusters = {name: LocalCluster(work / name, replicas=2 if name == "replicas" else 1)
                for name in ("cluster", "replicas") if name in wanted}
    rows = []
    try:
        sinks = {"chdb": urls["sink"]}
        for name, cluster in clusters.items():
            t0 = time.monotonic()
            cluster.start()
            sinks[name] = cluster.url(DATABASE, cluster.cluster_replicated) + "&replicated=1"
            print(f"{name} up in {time.monotonic() - t0:.1f} s: tcp ports {cluster.tcp_ports}, zookeeper "
                  f"{cluster.zk_port}", file=sys.stderr)
        source_tables_for_init(urls, spec, args.seed)
        for name in wanted:
            url = sinks[name]
            env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": url, "PGTZ": "UTC"}
            measured_chsync(env, "--config", str(cfg), "init", "--json")
            for strategy in [s for s in args.strategies.split(",") if s]:
                gen_s, truth = regenerate(urls["source"], url, spec, args.scale, args.seed)
                print(f"{name}: generated in {gen_s:.1f} s", file=sys.stderr)
                wall, rss, out = measured_chsync(env, "--config", str(cfg), "backfill", "--from", FROM, "--to", TO,
                                                 "--strategy", strategy, "--yes", "--json")
                result = json.loads(out)
                verify = result["verify"]
                written = result["rows_written"]
                verdict = ("in sync" if verify["in_sync"] else "NOT in sync") + \
                          f", {verify.get('duplicate_keys', '?')} dups"
                rows.append((name, strategy, gen_s, wall, rss, written, written / wall, verdict, read_window(result)))
                steps = ", ".join(f"{s['step']} {s['seconds']:.1f} s" for s in result.get("timeline", []))
                print(f"{name} {strategy}: {wall:.1f} s, {written:,} rows, {verdict}; timeline: {steps}",
                      file=sys.stderr)
    finally:
        for cluster in clusters.values():
            cluster.stop()
        embedded.down(work / "embedded", purge=True)

    sink_label = {"cluster": "ClickHouse 18.16, 3 shards (Replicated, cityHash64)",
                  "replicas": "ClickHouse 18.16, 3 shards x 2 replicas (Replicated, cityHash64)",
                  "chdb": "chDB 26.9 (embedded)"}
    print(f"\nScale {args.scale} (seed {args.seed}); {os.cpu_count()} cores\n")
    print("| sink | strategy | generate | backfill wall (plan + backfill + verify) | peak RSS | rows written "
          "| rows/s | verify | read window |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, strategy, gen_s, wall, rss, written, rate, verdict, window in rows:
        print(f"| {sink_label[name]} | {strategy} | {gen_s:.1f} s | {wall:.1f} s | {rss:,.0f} MB | {written:,} "
              f"| {rate:,.0f} | {verdict} | {window} |")


if __name__ == "__main__":
    main()
