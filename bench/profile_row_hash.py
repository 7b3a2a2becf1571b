"""Profile: what Postgres's row hash costs, part by part.

    python bench/profile_row_hash.py --scale 1 [--seed 1] [--workdir DIR] [--runs 2]

verify and the daily check are bound by Postgres fingerprinting the range (bench/profile_floor.py). This
takes the scalar part of that fingerprint apart over the seed's 49 days, one Postgres backend (no
parallel workers), each expression summed over the source set so that nothing leaves Postgres: the scan
and its joins alone (`count(*)`), each column's hashed bytes alone, all of them concatenated, their md5,
and the row hash as chsync computes it (the md5 as a 60-bit integer); and one md5 of the key's text alone,
which tells what a call of md5 costs whatever its input. Then the array columns' share, over the rows joined
to each element: the join alone, the element hashes as chsync computes them (one md5 per element), and
one md5 per distinct element value joined back (what hashing each value once would cost instead). Best of
`--runs` per expression. Prints Markdown; BENCHMARKS.md quotes it with the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

import psycopg
from bench_sync import FROM, SPEC, TO, generated

from chsync.source import canonical as C
from chsync.source.sql import SourceSQL


def expressions(sql: SourceSQL, first: dt.date, last: dt.date) -> list[tuple[str, str]]:
    """(name, statement) pairs; the first is the scan every other is compared with."""
    where = sql.source_set(first, last)
    scalars = [c for c in SPEC.compared if not c.type.is_array]
    parts = [(f"key {SPEC.key}", sql.key_field)] + [(c.name, C.hashed(c, sql.expr(c), 3)) for c in scalars]
    data = " || ".join(p for _, p in parts)
    rows = ([("the scan and its joins", "count(*)")]
            + [(f"bytes of {name} alone", f"sum(length({p}))") for name, p in parts]
            + [("all bytes concatenated", f"sum(length({data}))"),
               ("their md5", f"sum(length(md5({data})))"),
               ("the row hash", f"sum({sql.scalar_hash()})"),
               (f"one md5 of the key's text alone ({SPEC.key})", f"sum(length(md5({sql.key_text})))")])
    statements = [(name, f"SELECT {expr} {where}") for name, expr in rows]
    for col in sql.arrays:
        join, element = sql.elements(col)
        joined = sql.source_set(first, last, join)
        statements += [(f"{col.name}: the scan joined to every element", f"SELECT count(*) {joined}"),
                       (f"{col.name}: one md5 per element (the element hashes)",
                        f"SELECT sum({sql.element_hash(col, element)}) {joined}")]
        if col.child is not None:
            values = (f"(SELECT v, {C.md5_bits(C.text_bytes('v'), 44)} AS h FROM "
                      f"(SELECT DISTINCT {element.replace('chsync_ch.', '')} AS v FROM {col.child.table}) AS d)")
            once = sql.source_set(first, last, f"{join} JOIN {values} AS chsync_v ON chsync_v.v = {element}")
            statements.append((f"{col.name}: one md5 per distinct value, joined back",
                               f"SELECT sum(chsync_v.h) {once}"))
    return statements


def profile(source_url: str, runs: int) -> list[tuple[str, float]]:
    sql = SourceSQL(SPEC, 3)
    out = []
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute("SET jit = off")
        # as chsync plans a fingerprint of a long range (source/postgres.py, _fingerprint_planner)
        conn.execute("SET enable_sort = off")
        conn.execute("SET enable_nestloop = off")
        for name, statement in expressions(sql, dt.date.fromisoformat(FROM), dt.date.fromisoformat(TO)):
            best = float("inf")
            for _ in range(runs):
                t0 = time.monotonic()
                conn.execute(statement).fetchall()
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
