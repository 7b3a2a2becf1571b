"""Benchmark: `chsync demo`, act by act, for this tree and a baseline commit run alternately.

    python bench/bench_demo_acts.py [--baseline GIT_REV] [--runs 2] [--scale 1]

Each run is its own `chsync demo` process in a fresh work directory (its own Postgres and chDB, stopped
and removed afterwards). From the run's report.json it prints act 1 (every step of the seed's story but
starting the databases) and act 2 split into its three kinds of step: Postgres changing rows (the
simulated days), the nightly jobs, and the final verify; and the process's wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_diff import _export
from bench_sync import measured_chsync


def acts(report: dict) -> dict[str, float]:
    """Seconds of act 1 and of act 2's parts, from a demo's report.json."""
    act1 = sum(s["seconds"] for s in report["timeline"] if not s["step"].startswith("Start embedded"))
    act2 = report["act2"]
    parts: collections.Counter = collections.Counter()
    for step in act2["timeline"]:
        kind = ("Postgres changes" if step["step"].endswith("Postgres changes")
                else "nightly jobs" if step["step"].endswith("the daily job") else "final verify")
        parts[kind] += step["seconds"]
    return {"act 1": act1, "act 2": act2["seconds"], **parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", metavar="GIT_REV", help="also run this commit's chsync, alternately")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--scale", default="1")
    args = parser.parse_args()
    print("command: python bench/bench_demo_acts.py " + " ".join(sys.argv[1:]), flush=True)
    versions = {"this tree": dict(os.environ)}
    if args.baseline:
        versions[f"baseline {args.baseline}"] = {**os.environ, "PYTHONPATH": _export(args.baseline)}
    rows = []
    for run in range(1, args.runs + 1):
        for version, env in versions.items():
            workdir = Path(tempfile.mkdtemp(prefix="chsync-demo-acts-"))
            try:
                wall, rss, _ = measured_chsync(env, "demo", "--scale", args.scale, "--workdir", str(workdir),
                                               "--json")
                report = json.loads((workdir / "report.json").read_text())
                ok = report["act2"]["as_expected"] and report["act2"]["verify"]["in_sync"]
            finally:
                subprocess.run([sys.executable, "-P", "-m", "chsync", "embedded", "down", "--workdir", str(workdir)],
                               env=env, capture_output=True)
                shutil.rmtree(workdir, ignore_errors=True)
            row = {"run": run, "version": version, **acts(report), "wall": wall, "rss": rss, "ok": ok}
            print(f"  run {run} [{version}]: act 2 {row['act 2']:.1f} s", file=sys.stderr, flush=True)
            rows.append(row)
    columns = ["act 1", "act 2", "Postgres changes", "nightly jobs", "final verify", "wall"]
    print(f"\nscale {args.scale}, {args.runs} run(s) per version, alternating\n")
    print("| run | version | " + " | ".join(f"{c} (s)" for c in columns) + " | peak RSS | act 2 as expected |")
    print("|---" * (len(columns) + 4) + "|")
    for r in rows:
        print(f"| {r['run']} | {r['version']} | " + " | ".join(f"{r[c]:.1f}" for c in columns)
              + f" | {r['rss']:,.0f} MB | {'yes' if r['ok'] else 'NO'} |")


if __name__ == "__main__":
    main()
