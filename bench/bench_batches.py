"""Benchmark: the peak memory of a push sync of every day, by --batch-rows, beside a whole day in memory.

    python bench/bench_batches.py --scale 3 [--batches 1000000,200000,20000] [--runs 2]

Seed-shaped data at the scale (its largest day: 57K rows x scale); then, alternating, `chsync sync --from
2026-01-01 --to 2026-02-18 --mode push --workers 1` with each --batch-rows (1,000,000 holds any day whole:
what every sync did before batches). Each run is its own process; wall time and peak RSS (VmHWM) its own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import FROM, TO, measured_chsync, regenerate

from chsync import embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=3.0)
    parser.add_argument("--batches", default="1000000,200000,20000")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/chsync-bench-batches")
    args = parser.parse_args()
    sizes = [int(b) for b in args.batches.split(",")]
    work = Path(args.workdir)
    urls = embedded.up(work / "embedded")
    env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": urls["sink"]}
    try:
        regenerate(urls, args.scale, args.seed)
        walls: dict[int, list[float]] = {b: [] for b in sizes}
        peaks: dict[int, list[float]] = {b: [] for b in sizes}
        for _ in range(args.runs):
            for size in sizes:
                wall, peak, _ = measured_chsync(env, "sync", "--from", FROM, "--to", TO, "--mode", "push",
                                                "--workers", "1", "--batch-rows", str(size))
                walls[size].append(wall)
                peaks[size].append(peak)
        print(f"scale {args.scale}: `chsync sync --from {FROM} --to {TO} --mode push --workers 1 --batch-rows N`, "
              f"{args.runs} alternating runs\n")
        print("| --batch-rows | wall (s), each run | peak RSS (MB), each run |\n|---|---|---|")
        for size in sizes:
            print(f"| {size:,} | {' / '.join(f'{w:.1f}' for w in walls[size])} | "
                  f"{' / '.join(f'{p:.0f}' for p in peaks[size])} (median {statistics.median(peaks[size]):.0f}) |")
    finally:
        embedded.down(work / "embedded", purge=True)


if __name__ == "__main__":
    main()
