"""What every table of scope.md / report.md must say, built from the JSON document alone.

An expected cell is either text (must equal the cell) or a list of numbers (must equal the numbers written
in the cell, thousands separators stripped). `assert_tables_match` fails on any table it has no
expectation for, so a table added to a report without a check here does not go unchecked."""

from __future__ import annotations

from mdtables import numbers, tables


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def _seconds(s: float) -> list:
    """The numbers of a duration as report.md writes it: 0.3 s / 2 min 5 s / 1 h 3 min."""
    if s < 60:
        return [round(s, 1)]
    m, r = divmod(round(s), 60)
    return [m, r] if m < 60 else [m // 60, m % 60]


def _ratio(sink: int, source: int):
    return [round(sink / source, 2)] if source else ("—" if not sink else "∞")


def volume_summary(doc: dict) -> list[list]:
    src, snk, t, days = doc["source"], doc["sink"], doc["totals"], len(doc["days"])
    return [["Postgres conversations (filter match)", [src["rows"]]],
            ["ClickHouse total rows", [snk["rows"]]],
            ["ClickHouse distinct conversations", [snk["distinct"]]],
            ["ClickHouse duplicate conversations", [snk["duplicate_keys"]]],
            ["ClickHouse extra duplicate rows", [snk["extra_duplicate_rows"]]],
            ["Missing in ClickHouse", [t["missing"]]], ["Stale in ClickHouse", [t["stale"]]],
            ["Changed (content differs)", [t["changed"]]],
            [f"Days in range ({doc['from']} – {doc['to']})", [days]],
            ["Avg conversations per day (Postgres)", [round(src["rows"] / days) if days else 0]],
            ["Profiles scanned", [src["units_scanned"], src["units_matched"]]],
            ["In sync", _yes(doc["in_sync"])]]


def daily(doc: dict) -> list[list]:
    return [[d["day"], [d["source"]], [d["sink_rows"], d["sink_distinct"]], [d["duplicates"]], [d["missing"]],
             [d["stale"]], [d["changed"]], _yes(d["in_sync"])] for d in doc["days"]]


def drift(doc: dict) -> dict:
    reasons = [[r, [n]] for r, n in doc["stale_reasons"].items() if n]
    columns = [[c, [n]] for c, n in doc["changed_columns"].items()]
    return {k: v for k, v in {("Stale reason", "Conversations"): reasons,
                              ("Changed column", "Conversations"): columns}.items() if v}


DAILY = ("Day", "Postgres (filter)", "ClickHouse", "CH duplicates", "Missing", "Stale", "Changed", "In sync")


def scope_tables(doc: dict) -> dict:
    """{header: rows} of scope.md for a scope/verify document."""
    return {("Metric", "Count"): volume_summary(doc), DAILY: daily(doc),
            ("Usecase", "Postgres", "ClickHouse", "Ratio"): [
                [u["value"] or "(none)", [u["source"]], [u["sink"]], _ratio(u["sink"], u["source"])]
                for u in doc["breakdown"]["values"]],
            **drift(doc)}


def demo_tables(doc: dict, seed: dict) -> dict:
    """{header: rows} of the demo's report.md; `seed`: the seed's figures the demo is compared with."""
    before, after, sync = doc["before"], doc["after"], doc["sync"]
    after_uc = {u["value"]: u["sink"] for u in after["breakdown"]["values"]}
    step = next(s for s in doc["timeline"] if s["step"].startswith("Sync"))

    def metrics(d):
        return [d["sink"]["rows"], d["sink"]["distinct"], d["sink"]["duplicate_keys"],
                d["totals"]["missing"], d["totals"]["stale"], d["totals"]["changed"],
                sum(1 for x in d["days"] if not x["in_sync"])]
    names = ["Total rows", "Distinct conversations", "Duplicate conversations", "Missing", "Stale", "Changed",
             "Days out of sync"]
    rate = sync["rows_written"] / step["seconds"] / 1000 if step["seconds"] else 0
    return {("Metric", "Count"): volume_summary(before), DAILY: daily(before),
            ("Usecase", "Before", "After", "Postgres"): [
                [u["value"] or "(none)", [u["sink"]], [after_uc.get(u["value"], 0)], [u["source"]]]
                for u in before["breakdown"]["values"]],
            **drift(before),
            ("Step", "Start (UTC)", "End (UTC)", "Duration", "Rows"): [
                [s["step"], s["start"][11:19], (s["end"] or "")[11:19], _seconds(s["seconds"]),
                 [] if s["rows"] is None else [s["rows"]]] for s in doc["timeline"]],
            ("Metric", "Before", "After"): [[n, [b], [a]] for n, b, a in zip(names, metrics(before), metrics(after))],
            ("", "Seed (bulk DELETE + 49 cron runs)", "chsync sync (per-day swap)"): [
                ["Rows written", seed["rows"], [sync["rows_written"]]],
                ["Duration", seed["duration"], _seconds(step["seconds"])],
                ["Rate", seed["rate"], [round(rate, 1)]],
                ["Window with an empty or partial table", seed["window"], "none (each day swapped as one partition)"],
                ["Duplicates after", seed["duplicates_after"], [after["sink"]["duplicate_keys"]]],
                ["ClickHouse vs Postgres after", seed["vs_postgres_after"],
                 [after["sink"]["distinct"] - after["source"]["rows"]]]],
            **(act2_table(doc["act2"]) if doc.get("act2") else {})}


def act2_table(act2: dict) -> dict:
    """{header: rows} of the daily job's table in report.md, from the act's runs as the JSON has them."""
    rows = []
    for r in act2["runs"]:
        sync = r["sync"]
        fixed = {k: sum(h[k] for h in sync["healed"]) for k in ("stale", "changed", "missing", "duplicates")}
        notes = {r["day"]: [f"{r['arrived']:,} conversation{'s' * (r['arrived'] != 1)} arrived ({r['newcomer']} "
                            f"started: {r['newcomer_rows']:,} of them)"]}
        for c in r["changes"]:
            notes.setdefault(c["day"], []).append(c["what"])
        ordered = [r["day"]] + sorted(d for d in notes if d != r["day"])
        rows.append([r["day"], f"{len(sync['checked'])} ({sync['checked'][0]} – {sync['checked'][-1]})",
                     ", ".join(sync["drifted"]) or "none", [len(sync["healed"])], [sync["rows_written"]],
                     ", ".join(f"{n:,} {k}" for k, n in fixed.items() if n) or "—", _seconds(r["seconds"]),
                     "; ".join(f"{d}: {'; '.join(notes[d])}" for d in ordered)])
    return {("Run (day synced)", "Days checked", "Drifted days", "Healed", "Rows written", "Drift fixed (rows)", "Time",
             "Changed in Postgres before the run"): rows}


def mismatches(markdown: str, expected: dict) -> list[str]:
    """Every cell (and table) of `markdown` that differs from `expected`; empty when they all agree."""
    found = tables(markdown)
    bad = [f"table {h} is not expected (no check for it)" for h, _ in found if h not in expected]
    headers = [h for h, _ in found]
    bad += [f"table {h} is missing" for h in expected if h not in headers]
    for header, rows in found:
        want = expected.get(header)
        if want is None:
            continue
        if len(rows) != len(want):
            bad.append(f"table {header}: {len(rows)} rows, expected {len(want)}")
            continue
        for row, exp in zip(rows, want):
            for col, cell, e in zip(header, row, exp):
                ok = cell == e if isinstance(e, str) else numbers(cell) == [float(x) for x in e]
                if not ok:
                    bad.append(f"{header[0] or header[1]} / {row[0]} / {col}: {cell!r}, expected {e!r}")
    return bad
