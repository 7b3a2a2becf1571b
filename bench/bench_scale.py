"""Benchmark: push vs pull, 1 vs 2 workers, and the diff, at several scales, each next to the floor.

    python bench/bench_scale.py --scales 0.1,0.3,1,3 [--workdir /tmp/chsync-scale]

Per scale: generate seed-shaped drifted data once, keep a copy of the drifted chDB directory, and
restore it before every measured run, so each run starts from the same drift. Every measured step is
its own `chsync` process (wall time and peak RSS are its own; see bench_sync.measured_chsync). The floor
is bench_sync.floor: one INSERT … SELECT FROM postgresql() over a Postgres view of the same rows.
Prints one Markdown table for all scales; BENCHMARKS.md and docs/SCALING.md quote it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time

from bench_sync import FROM, TO, floor, measured_chsync, regenerate

from chsync import embedded

RUNS = [  # (label, extra args)
    ("sync push, 1 worker", ["sync", "--mode", "push"]),
    ("sync push, 2 workers", ["sync", "--mode", "push", "--workers", "2"]),
    ("sync pull, 1 worker", ["sync", "--mode", "pull"]),
    ("sync pull, 2 workers", ["sync", "--mode", "pull", "--workers", "2"]),
]
DIFFS = [("diff pull (hashing in the sink)", "pull"), ("diff push (Postgres hashes)", "push")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="0.1,0.3,1,3")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/chsync-scale")
    parser.add_argument("--skip-diff-push-above", type=float, default=1.0,
                        help="Postgres-side hashing is slow; skip the push diff above this scale.")
    args = parser.parse_args()
    urls = embedded.up(args.workdir)
    env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": urls["sink"]}
    sink_dir = urls["sink"].removeprefix("chdb://")
    snapshot = sink_dir.rstrip("/") + ".drifted"
    table = []
    for scale in [float(s) for s in args.scales.split(",")]:
        gen = regenerate(urls, scale, args.seed)
        floor_s, floor_rows = floor(urls)
        table.append((scale, "generate", gen, None, "", ""))
        table.append((scale, "floor: one INSERT…SELECT FROM postgresql()", floor_s, None, f"{floor_rows:,}", "1.0×"))
        shutil.rmtree(snapshot, ignore_errors=True)
        shutil.copytree(sink_dir, snapshot, symlinks=True)  # chDB links metadata into store/

        def restore():
            shutil.rmtree(sink_dir)
            shutil.copytree(snapshot, sink_dir, symlinks=True)

        for label, mode in DIFFS:
            if mode == "push" and scale > args.skip_diff_push_above:
                continue
            restore()
            wall, rss, out = measured_chsync(env, "diff", "--from", FROM, "--to", TO, "--mode", mode, "--json",
                                             expect=(0, 1))
            classes = json.loads(out)["classes"]
            table.append((scale, label, wall, rss, f"{sum(classes.values()):,} differing", ""))
        for label, cmd in RUNS:
            restore()
            wall, rss, out = measured_chsync(env, *cmd, "--from", FROM, "--to", TO, "--json")
            done = json.loads(out)
            if done["refused"] or done["rows_written"] != floor_rows:
                raise SystemExit(f"{label} at scale {scale}: wrote {done['rows_written']:,} rows, "
                                 f"expected {floor_rows:,}; refused: {done['refused']}")
            table.append((scale, label, wall, rss, f"{done['rows_written']:,}", f"{wall / floor_s:.2f}×"))
        print(f"scale {scale} done", flush=True)
    shutil.rmtree(snapshot, ignore_errors=True)

    print(f"\nseed {args.seed}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}\n")
    print("| scale | step | wall | peak RSS | rows | vs floor |")
    print("|---|---|---|---|---|---|")
    for scale, step, wall, rss, rows, ratio in table:
        print(f"| {scale:g} | {step} | {wall:.1f} s | {'' if rss is None else f'{rss:,.0f} MB'} | {rows} | {ratio} |")


if __name__ == "__main__":
    main()
