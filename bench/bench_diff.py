"""Benchmark: `chsync diff` of the seed's 49 days, as a user runs it (one process, imports included).

    python bench/bench_diff.py [--scale 1] [--runs 7] [--workdir /tmp/chsync-bench-diff] [--reuse]

Generates seed-shaped drifted data once (`--reuse`: keep what the workdir holds), then runs the diff
`--runs` times back to back and prints the median, the range and the peak RSS (the child's own VmHWM),
with the differing counts, so two versions can be compared on the same data in one session.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics

from bench_sync import FROM, TO, measured_chsync, regenerate

from chsync import embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", default="auto", help="auto (in the sink on chDB) or push")
    parser.add_argument("--workdir", default="/tmp/chsync-bench-diff")
    parser.add_argument("--reuse", action="store_true", help="do not regenerate the data")
    args = parser.parse_args()
    urls = embedded.up(args.workdir)
    env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": urls["sink"]}
    if not args.reuse:
        print(f"generated scale {args.scale} in {regenerate(urls, args.scale, args.seed):.1f} s", flush=True)
    walls, peaks, classes = [], [], None
    for _ in range(args.runs):
        wall, rss, out = measured_chsync(env, "diff", "--from", FROM, "--to", TO, "--mode", args.mode,
                                         "--json", expect=(0, 1))
        doc = json.loads(out)
        if classes is not None and doc["classes"] != classes:
            raise SystemExit(f"runs disagree: {classes} then {doc['classes']}")
        classes = doc["classes"]
        walls.append(wall)
        peaks.append(rss)
    print(f"diff {FROM} – {TO}, scale {args.scale}, mode {args.mode}, {args.runs} runs: "
          f"median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), "
          f"peak RSS {max(peaks):,.0f} MB; {classes}")


if __name__ == "__main__":
    main()
