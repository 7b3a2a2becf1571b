"""report.md of `chsync demo --config FILE`: the story told in the table's own words (its noun, its
breakdown column), with the scope checked against the generator's ground truth."""

from __future__ import annotations

import datetime as dt

from ..report import markdown as md
from ..scope import breakdown_title


def truth_disagreements(scope: dict, truth: dict) -> list[str]:
    """Where the scope before the repair differs from what the generator made (none when chsync is right)."""
    out = []
    fields = ("source", "sink_rows", "sink_distinct", "duplicates", "missing", "stale", "changed")
    for day in scope["days"]:
        want = truth["days"].get(day["day"])
        got = {k: day[k] for k in fields}
        if want is not None and got != want:
            out.append(f"{day['day']}: scope {got}, generated {want}")
    if scope["stale_reasons"] != truth["stale_reasons"]:
        out.append(f"stale reasons: scope {scope['stale_reasons']}, generated {truth['stale_reasons']}")
    generated = {c: n for c, n in truth["changed_columns"].items() if n}
    if scope["changed_columns"] != generated:
        out.append(f"changed columns: scope {scope['changed_columns']}, generated {generated}")
    return out


def render(doc: dict) -> str:
    before, after, truth = doc["before"], doc["after"], doc["truth"]
    many = before["noun"][1]
    title = breakdown_title(before["breakdown"]["column"])
    wrong = truth_disagreements(before, truth)
    return md.sections(
        f"# chsync demo: {before['table']} ({many}), drift found and repaired",
        f"Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `chsync demo --config {doc['config']} "
        f"--scale {doc['scale']} --seed {doc['seed']}` on embedded Postgres + chDB: {truth['totals']['source']:,} "
        f"{many} of {truth['from']} – {truth['to']} in Postgres, the sink as an old job left it.",
        "## Before", _summary(before, many),
        "## Daily volume (before)", md.daily_volume(before),
        "## Drift explained (before)",
        md.table(["Stale reason", f"Stale {many}"], [[r, n] for r, n in before["stale_reasons"].items()]),
        md.table(["Changed column", f"Changed {many}"], [[c, n] for c, n in before["changed_columns"].items()]),
        "## Scope against the generator's ground truth",
        "Every day, every stale reason and every changed column is what the generator made."
        if not wrong else "**Disagreements:**\n\n" + "\n".join(f"- {w}" for w in wrong),
        *([f"## {title} (before and after)", _breakdown(before, after)] if title else []),
        "## Timeline", md.timeline_table(doc["timeline"]),
        "## Results", _results(before, after, many),
        f"**Verify: {'in sync — every day equals Postgres' if after['in_sync'] else 'NOT in sync'}.**",
    )


def _summary(doc: dict, many: str) -> str:
    src, snk, totals = doc["source"], doc["sink"], doc["totals"]
    return md.table(["Metric", "Count"], [
        [f"Postgres {many} (filter match)", src["rows"]], ["ClickHouse rows", snk["rows"]],
        [f"ClickHouse distinct {many}", snk["distinct"]], [f"Duplicated {many}", snk["duplicate_keys"]],
        ["Missing in ClickHouse", totals["missing"]], ["Stale in ClickHouse", totals["stale"]],
        ["Changed (content differs)", totals["changed"]],
        ["Days out of sync", f"{sum(not d['in_sync'] for d in doc['days'])} of {len(doc['days'])}"]])


def _breakdown(before: dict, after: dict) -> str:
    a = {v["value"]: v for v in after["breakdown"]["values"]}
    return md.table(["Value", "ClickHouse before", "ClickHouse after", "Postgres"],
                    [[v["value"] or "(none)", v["sink"], a.get(v["value"], {}).get("sink", 0), v["source"]]
                     for v in before["breakdown"]["values"]])


def _results(before: dict, after: dict, many: str) -> str:
    def metrics(d: dict) -> list:
        return [d["sink"]["rows"], d["sink"]["distinct"], d["sink"]["duplicate_keys"],
                d["totals"]["missing"], d["totals"]["stale"], d["totals"]["changed"],
                sum(1 for x in d["days"] if not x["in_sync"])]
    names = ["ClickHouse rows", f"Distinct {many}", f"Duplicated {many}", "Missing", "Stale", "Changed",
             "Days out of sync"]
    return md.table(["Metric", "Before", "After"], [[n, b, a] for n, b, a in zip(names, metrics(before),
                                                                                  metrics(after))])
