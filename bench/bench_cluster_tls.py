"""Benchmark: scope, diff and a swap backfill of the seed's 49 days on the local 3-shard ClickHouse 18.16
cluster over native TLS, side by side with the same on chDB, one chsync process per step.

    python bench/bench_cluster_tls.py [--scale 1] [--seed 1] [--workdir DIR] [--keep]

It starts everything it uses and stops it at the end, also on failure: one embedded Postgres (the source
of both sinks) and the local cluster of `tests/harness/cluster.py` (ZooKeeper + 3 shards x 1 replica,
a throwaway CA). The cluster is reached as production reaches it: `clickhouses://` on the secure native
port with `ca_certs=` (that CA), the Replicated layout sharded by cityHash64(toString(conversation_id)),
and `http_port=` naming the HTTPS port, so the auto mode's copy of the server's rows into an in-process
chDB goes over https too. For each sink: `init`, generate the seed-shaped drifted data (same scale and
seed, so the same rows), then time `scope`, `diff` and `backfill --strategy swap --yes` (which ends with
its own verify), each as its own process. Wall time is the process's, from start to exit; peak RSS is
the process's own high-water mark (VmHWM, what `/usr/bin/time -v` reports as its maximum resident set;
see bench_sync.measured_chsync). Prints the command line first, then one Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_cluster import DATABASE, SHARDING_KEY, regenerate, source_tables_for_init
from bench_sync import FROM, TO, measured_chsync
from harness.cluster import LocalCluster, find_binaries

from chsync import embedded
from chsync.spec import load_specs

SINKS = {"cluster": "ClickHouse 18.16, 3 shards, native TLS", "chdb": "chDB (embedded)"}
STEPS = [  # (label, chsync arguments after the global options, exit codes that are fine)
    ("scope", ["scope", "--from", FROM, "--to", TO, "--json"], (0, 1)),
    ("diff", ["diff", "--from", FROM, "--to", TO, "--json"], (0, 1)),
    ("backfill --strategy swap (incl. its verify)",
     ["backfill", "--from", FROM, "--to", TO, "--strategy", "swap", "--yes", "--json"], (0,)),
]


def outcome(step: str, doc: dict) -> str:
    """What the step found or did, from its JSON document (the same on both sinks, or the run is wrong)."""
    if step == "scope":
        t = doc["totals"]
        return (f"{doc['source']['rows']:,} source rows; {t['missing']:,} missing, {t['stale']:,} stale, "
                f"{t['changed']:,} changed, {doc['sink']['extra_duplicate_rows']:,} extra duplicates")
    if step == "diff":
        c = doc["classes"]
        return ", ".join(f"{v:,} {k}" for k, v in c.items())
    verify = doc["verify"]
    return (f"{doc['rows_written']:,} rows written; verify: {'in sync' if verify['in_sync'] else 'NOT in sync'}, "
            f"{verify['duplicate_keys']} duplicates")


def mode_of(step: str, doc: dict) -> str:
    """How rows travelled: scope and diff say it; a backfill runs push unless told otherwise (--mode)."""
    return doc["mode"]["mode"] if "mode" in doc else "push"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="where the servers keep their data (default: a temporary directory, "
                                          "removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the workdir (the servers are stopped anyway)")
    args = parser.parse_args()
    command = shlex.join(["python", *sys.argv])
    print(f"$ {command}", flush=True)
    problem = find_binaries()
    if problem:
        raise SystemExit(f"bench: {problem}")

    work = Path(args.workdir or tempfile.mkdtemp(prefix="chsync-bench-tls-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ["PGTZ"] = "UTC"   # postgresql() returns timestamptz in the session's zone
    cfg = work / "spec.toml"
    cfg.write_text(f"[sink]\nsharding_key = '{SHARDING_KEY}'\n")
    spec = load_specs(None)[0]
    results: dict[str, dict[str, tuple[float, float, str, str]]] = {name: {} for name in SINKS}
    generated: dict[str, float] = {}
    cluster = LocalCluster(work / "cluster")
    try:
        urls = embedded.up(work / "embedded")
        t0 = time.monotonic()
        cluster.start()
        print(f"cluster up in {time.monotonic() - t0:.1f} s (TLS native ports {cluster.tcp_secure_ports}, "
              f"HTTPS ports {cluster.https_ports})", file=sys.stderr, flush=True)
        sinks = {"cluster": cluster.url(DATABASE, cluster.cluster_replicated, tls=True, extra="replicated=1"),
                 "chdb": urls["sink"]}
        assert sinks["cluster"].startswith("clickhouses://") and "ca_certs=" in sinks["cluster"]
        source_tables_for_init(urls, spec, args.seed)
        for name, url in sinks.items():
            env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": url}
            measured_chsync(env, "--config", str(cfg), "init", "--json")
            generated[name], _ = regenerate(urls["source"], url, spec, args.scale, args.seed)
            print(f"{name}: generated scale {args.scale} in {generated[name]:.1f} s", file=sys.stderr, flush=True)
            for label, argv, expect in STEPS:
                wall, rss, out = measured_chsync(env, "--config", str(cfg), *argv, expect=expect)
                doc = json.loads(out)
                results[name][label] = (wall, rss, mode_of(label, doc), outcome(label, doc))
                print(f"{name} {label}: {wall:.1f} s, {rss:,.0f} MB, {mode_of(label, doc)}: {outcome(label, doc)}",
                      file=sys.stderr, flush=True)
                if label.startswith("backfill") and not doc["verify"]["in_sync"]:
                    raise SystemExit(f"{name}: the backfill did not end in sync: {doc['verify']}")
    finally:
        cluster.stop()
        embedded.down(work / "embedded", purge=True)
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    for label, *_ in STEPS:
        found = {results[name][label][3] for name in SINKS}
        if len(found) != 1:
            raise SystemExit(f"{label}: the sinks disagree: {found}")
    commit = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    print(f"\nScale {args.scale} (seed {args.seed}), {FROM} – {TO}; {os.cpu_count()} cores; chsync {commit}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}\n")
    print(f"| step | {SINKS['cluster']}: wall | peak RSS | mode | {SINKS['chdb']}: wall | peak RSS | mode "
          "| outcome (both) |")
    print("|---|---:|---:|---|---:|---:|---|---|")
    for label, *_ in STEPS:
        cw, cr, cm, what = results["cluster"][label]
        dw, dr, dm, _ = results["chdb"][label]
        print(f"| {label} | {cw:.1f} s | {cr:,.0f} MB | {cm} | {dw:.1f} s | {dr:,.0f} MB | {dm} | {what} |")
    print(f"\nGenerating the data (not timed above, in this process): cluster {generated['cluster']:.1f} s, "
          f"chDB {generated['chdb']:.1f} s. Cluster mode pull = the server's rows copied over https into an "
          "in-process chDB, which reads Postgres; chDB mode pull = inside the embedded sink; push = Postgres "
          "hashes (diff) or chsync reads and writes the rows (backfill).")


if __name__ == "__main__":
    main()
