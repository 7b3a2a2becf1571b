"""Benchmark: `chsync diff` of the seed's 49 days, as a user runs it (one process, imports included).

    python bench/bench_diff.py [--scale 1] [--runs 7] [--workdir /tmp/chsync-bench-diff] [--reuse]
        [--baseline GIT_REV]

Generates seed-shaped drifted data once (`--reuse`: keep what the workdir holds), then runs the diff
`--runs` times back to back and prints the median, the range and the peak RSS (the child's own VmHWM),
with the differing counts. `--baseline REV` also runs that commit's chsync (exported with `git archive`,
imported through PYTHONPATH) on the same data, alternating with this tree run by run, so that machine
noise falls on both alike; both must print the same document.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

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
    parser.add_argument("--baseline", metavar="GIT_REV", help="also run this commit's chsync, run by run")
    args = parser.parse_args()
    urls = embedded.up(args.workdir)
    env = {**os.environ, "CHSYNC_SOURCE": urls["source"], "CHSYNC_SINK": urls["sink"]}
    if not args.reuse:
        print(f"generated scale {args.scale} in {regenerate(urls, args.scale, args.seed):.1f} s", flush=True)
    versions = {"this tree": env}
    if args.baseline:
        versions = {f"baseline {args.baseline}": {**env, "PYTHONPATH": _export(args.baseline)}, **versions}
    walls = {v: [] for v in versions}
    peaks = {v: [] for v in versions}
    docs: dict[str, str] = {}
    for _ in range(args.runs):
        for version, version_env in versions.items():
            wall, rss, out = measured_chsync(version_env, "diff", "--from", FROM, "--to", TO, "--mode", args.mode,
                                             "--json", expect=(0, 1))
            doc = json.loads(out)
            doc.pop("mode", None)
            docs.setdefault(version, json.dumps(doc, sort_keys=True))
            if json.dumps(doc, sort_keys=True) != docs[version] or docs[version] != next(iter(docs.values())):
                raise SystemExit(f"{version}: the runs disagree ({doc['classes']})")
            walls[version].append(wall)
            peaks[version].append(rss)
    classes = json.loads(next(iter(docs.values())))["classes"]
    for version in versions:
        w = walls[version]
        print(f"{version}: diff {FROM} – {TO}, scale {args.scale}, mode {args.mode}, {args.runs} runs: "
              f"median {statistics.median(w):.2f} s (min {min(w):.2f}, max {max(w):.2f}), "
              f"peak RSS {max(peaks[version]):,.0f} MB; {classes}; runs: {', '.join(f'{x:.2f}' for x in w)}")


def _export(rev: str) -> str:
    """The chsync package of commit `rev`, in a temporary directory to put on PYTHONPATH."""
    target = Path(tempfile.mkdtemp(prefix="chsync-baseline-"))
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev, "chsync"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return str(target)

if __name__ == "__main__":
    main()
