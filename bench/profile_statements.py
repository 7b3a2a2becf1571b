"""Profile: one chsync command on an embedded sink, statement by statement, in this process.

    CHSYNC_SOURCE=... CHSYNC_SINK=chdb:///dir python bench/profile_statements.py diff --from A --to B --json

Runs the command as `chsync` would (same arguments, same environment) with chDB's statements timed. For
each statement that took more than 50 ms or raised the process's peak, prints to stderr: when it started,
how long it took, the resident size before and after, the peak so far, and the statement's start (any
postgresql(...) arguments, which carry credentials, elided). The command's own output goes to stdout.
This is how the diff's memory was taken apart (BENCHMARKS.md, "The diff at full drift under 600 MB").
"""

from __future__ import annotations

import re
import sys
import time

from chsync.sink import chdb

STARTED = time.monotonic()


def memory() -> tuple[int, int]:
    """(resident, peak resident) of this process, in MB."""
    fields = dict(line.split(":", 1) for line in open("/proc/self/status") if line.startswith(("VmRSS", "VmHWM")))
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def timed(method):
    def run(self, sql: str):
        began, (before, peak_before) = time.monotonic(), memory()
        try:
            return method(self, sql)
        finally:
            seconds, (after, peak) = time.monotonic() - began, memory()
            if seconds > 0.05 or peak > peak_before:
                text = re.sub(r"postgresql\([^)]*\)", "postgresql(…)", re.sub(r"\s+", " ", sql)).strip()
                print(f"{began - STARTED:7.2f} s {seconds:5.2f} s  {before:4d} -> {after:4d} MB (peak {peak:4d})  "
                      f"{text[:140]}", file=sys.stderr, flush=True)
    return run


def main() -> None:
    for name in ("execute", "arrow"):    # rows() goes through arrow()
        setattr(chdb.ChdbSink, name, timed(getattr(chdb.ChdbSink, name)))
    from chsync.cli.main import main as chsync
    sys.argv = ["chsync", *sys.argv[1:]]
    chsync()


if __name__ == "__main__":
    main()
