"""Profile: what Postgres's row hash costs, part by part.

    python bench/profile_row_hash.py --scale 1 [--seed 1] [--workdir DIR] [--runs 2]

verify and the daily check are bound by Postgres fingerprinting the range (bench/profile_floor.py). This
takes the scalar part of that fingerprint apart over the seed's 49 days, one Postgres backend (no
parallel workers), each expression summed over the source set so that nothing leaves Postgres: the scan
and its joins alone (`count(*)`), each column's hashed bytes alone, all of them concatenated, their md5,
and the row hash as chsync computes it (the md5 as a 60-bit integer). Best of `--runs` per expression.
Prints Markdown; BENCHMARKS.md quotes it with the command.
"""

from __future__ import annotations

import argparse
import sys
import time

import psycopg
from bench_sync import FROM, SPEC, TO, generated

from chsync.source import canonical as C
from chsync.source.sql import SourceSQL


def expressions(sql: SourceSQL) -> list[tuple[str, str]]:
    scalars = [c for c in SPEC.compared if not c.type.is_array]
    parts = [(f"key {SPEC.key}", sql.key_field)] + [(c.name, C.hashed(c, sql.expr(c), 3)) for c in scalars]
    data = " || ".join(p for _, p in parts)
    return ([("the scan and its joins", "count(*)")]
            + [(f"bytes of {name} alone", f"sum(length({p}))") for name, p in parts]
            + [("all bytes concatenated", f"sum(length({data}))"),
               ("their md5", f"sum(length(md5({data})))"),
               ("the row hash", f"sum({sql.scalar_hash()})")])


def profile(source_url: str, runs: int) -> list[tuple[str, float]]:
    import datetime as dt
    sql = SourceSQL(SPEC, 3)
    where = sql.source_set(dt.date.fromisoformat(FROM), dt.date.fromisoformat(TO))
    out = []
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute("SET jit = off")
        for name, expr in expressions(sql):
            best = float("inf")
            for _ in range(runs):
                t0 = time.monotonic()
                conn.execute(f"SELECT {expr} {where}").fetchall()
                best = min(best, time.monotonic() - t0)
            print(f"  {name}: {best:.2f} s", file=sys.stderr, flush=True)
            out.append((name, best))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--workdir", default="chsync-profile-row-hash")
    args = parser.parse_args()
    print("command: python bench/profile_row_hash.py " + " ".join(sys.argv[1:]), flush=True)
    with generated(args.workdir, args.scale, args.seed) as urls:
        parts = profile(urls["source"], args.runs)
    scan = parts[0][1]
    print(f"\n### Scale {args.scale}: the row hash over {FROM} – {TO}, one backend\n")
    print("| expression | seconds | beyond the scan |")
    print("|---|---|---|")
    for name, seconds in parts:
        print(f"| {name} | {seconds:.2f} | {seconds - scan:+.2f} |")


if __name__ == "__main__":
    main()
