"""Benchmark: what the daily job's sweep costs beside a verify of the whole history, in one run.

    python bench/bench_sweep.py --scale 1 [--sweep 7] [--runs 3] [--workdir /tmp/chsync-bench-sweep]

On embedded Postgres + chDB, seed-shaped data (49 days), backfilled so every day is in sync and proven.
Then, alternating, each as its own `chsync` process (process start included in both):
- verify: `chsync verify` of the 49 days;
- sweep: `chsync sync --day <the day after the history> --lookback 0 --sweep K --dry-run`, which checks the
  K days proven longest ago (and writes nothing: the next run sweeps the same days).
The sweep should cost about K/49 of the verify plus a process's fixed cost. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import FROM, TO, measured_chsync, regenerate

from chsync import embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--sweep", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/chsync-bench-sweep")
    args = parser.parse_args()
    work = Path(args.workdir)
    urls = embedded.up(work / "embedded")
    env = {**__import__("os").environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": urls["sink"]}
    try:
        regenerate(urls, args.scale, args.seed)
        measured_chsync(env, "backfill", "--from", FROM, "--to", TO, "--yes")
        times: dict[str, list[float]] = {"verify": [], "sweep": []}
        peaks: dict[str, list[float]] = {"verify": [], "sweep": []}
        swept: list[str] = []
        for _ in range(args.runs):
            wall, peak, _out = measured_chsync(env, "verify", "--from", FROM, "--to", TO)
            times["verify"].append(wall)
            peaks["verify"].append(peak)
            wall, peak, out = measured_chsync(env, "sync", "--day", "2026-02-19", "--lookback", "0", "--sweep",
                                              str(args.sweep), "--dry-run", "--json")
            times["sweep"].append(wall)
            peaks["sweep"].append(peak)
            swept = json.loads(out)["swept"]
        ratio = statistics.median(times["sweep"]) / statistics.median(times["verify"])
        print(f"scale {args.scale}, K = {args.sweep} of 49 days (K/49 = {args.sweep / 49:.2f}); swept {len(swept)} "
              f"days; {args.runs} alternating runs\n")
        print("| command | wall (s), each run | median | peak RSS (MB) |\n|---|---|---|---|")
        for name in ("verify", "sweep"):
            print(f"| {name} | {' / '.join(f'{t:.2f}' for t in times[name])} | {statistics.median(times[name]):.2f} "
                  f"| {max(peaks[name]):.0f} |")
        print(f"\nsweep / verify = {ratio:.2f}")
    finally:
        embedded.down(work / "embedded", purge=True)


if __name__ == "__main__":
    main()
