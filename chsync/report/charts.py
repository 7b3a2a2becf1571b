"""The report's charts, one function each, from a scope/verify document (and, for the demo, the document
after the repair): pure data → one standalone SVG string (svg.py). The HTML report inlines them; a report
written to a directory also saves them as files next to report.md (files.py).
"""

from __future__ import annotations

import datetime as dt

from . import svg
from .daily import DailyJob, DailyRun
from .markdown import duration
from .words import Words, words

POSTGRES, BEFORE, AFTER, DUPLICATES = "#4e79a7", "#f28e2b", "#59a14f", "#e15759"
IN_SYNC = "#d0d7de"
STALE_REASONS = {
    "deleted": "no Postgres row any more",
    "ended_at_reset": "ended_at set back to NULL in Postgres",
    "day_moved": "passes the filter on another day now",
    "dev_user": "agent is now a dev user (or none)",
    "source_type_changed": "source type changed",
    "no_agent_assistance": "no longer has agent assistance",
    "customer_changed": "belongs to another customer now",
}


def _after_days(after: dict | None) -> dict:
    return {d["day"]: d for d in after["days"]} if after else {}


def daily_volume(doc: dict, after: dict | None = None) -> str:
    """Postgres vs ClickHouse rows per day (and ClickHouse after the repair when given)."""
    days = [d["day"] for d in doc["days"]]
    series = [svg.Series("Postgres", [d["source"] for d in doc["days"]], POSTGRES),
              svg.Series("ClickHouse (before)" if after else "ClickHouse", [d["sink_rows"] for d in doc["days"]],
                         BEFORE)]
    if after:
        a = _after_days(after)
        series.append(svg.Series("ClickHouse (after)", [a.get(x, {}).get("sink_rows", 0) for x in days], AFTER))
    tips = [f"ClickHouse distinct: {d['sink_distinct']:,}" for d in doc["days"]]
    w = words(doc)
    return svg.grouped_bar_chart(f"{w.Many} per day: Postgres vs ClickHouse rows", days, series,
                                 x_label=w.day_axis, y_label=f"rows / {w.many}", tooltips=tips)


def duplicates(doc: dict, after: dict | None = None) -> str:
    """Duplicate conversations per day (before and after, when after still has any)."""
    days = [d["day"] for d in doc["days"]]
    a = _after_days(after)
    w = words(doc)
    series = [svg.Series("before" if after else f"duplicate {w.many}", [d["duplicates"] for d in doc["days"]],
                         DUPLICATES)]
    if any(d["duplicates"] for d in a.values()):
        series.append(svg.Series("after", [a.get(x, {}).get("duplicates", 0) for x in days], AFTER))
    tips = [f"extra duplicate rows: {d.get('extra_duplicate_rows', d['sink_rows'] - d['sink_distinct']):,}"
            for d in doc["days"]]
    title = f"ClickHouse duplicate {w.many} per day" + (" (before)" if after and len(series) == 1 else "")
    if len(series) == 1:
        return svg.bar_chart(title, days, series[0].values, x_label=w.day_axis,
                             y_label=f"duplicate {w.many}", color=DUPLICATES, name=f"duplicate {w.many}",
                             tooltips=tips)
    return svg.grouped_bar_chart(title, days, series, x_label=w.day_axis,
                                 y_label=f"duplicate {w.many}", height=260, tooltips=tips)


def usecases(doc: dict, after: dict | None = None) -> str:
    """Distinct conversations per usecase: Postgres vs ClickHouse (before and after when given)."""
    b = {u["value"]: u for u in doc["breakdown"]["values"]}
    a = {u["value"]: u for u in after["breakdown"]["values"]} if after else {}
    names = list(b) + [n for n in a if n not in b]
    labels = [n or "(none)" for n in names]
    w = words(doc)
    if not after:
        return svg.hbar_chart(f"{w.breakdown} distribution: Postgres vs ClickHouse", labels, [
            svg.Series("Postgres", [b[n]["source"] for n in names], POSTGRES),
            svg.Series("ClickHouse", [b[n]["sink"] for n in names], BEFORE)],
            x_label=f"distinct {w.many}", y_label=w.breakdown_lower)
    return svg.hbar_chart(f"{w.breakdown} distribution: Postgres vs ClickHouse before and after", labels, [
        svg.Series("Postgres", [a.get(n, b.get(n, {})).get("source", 0) for n in names], POSTGRES),
        svg.Series("ClickHouse (before)", [b.get(n, {}).get("sink", 0) for n in names], BEFORE),
        svg.Series("ClickHouse (after)", [a.get(n, {}).get("sink", 0) for n in names], AFTER)],
        x_label=f"distinct {w.many}", y_label=w.breakdown_lower)


def stale_reasons(doc: dict) -> str:
    reasons = doc.get("stale_reasons") or {}
    w = words(doc)
    return svg.hbar_chart(
        f"Why stale {w.many} are stale", list(reasons),
        [svg.Series(f"stale {w.many}", list(reasons.values()), BEFORE)],
        x_label=f"stale {w.many}", y_label="reason", tooltips=[STALE_REASONS.get(r, r) for r in reasons])


def timeline_spans(steps: list[dict]) -> tuple[dt.datetime, list[svg.Span]]:
    """The steps on one time axis: (the first start, one span per step)."""
    starts = [dt.datetime.fromisoformat(s["start"]) for s in steps]
    t0 = min(starts)
    spans = []
    for s, start in zip(steps, starts):
        rows = "" if s.get("rows") is None else f"\n{s['rows']:,} rows"
        spans.append(svg.Span(s["step"], (start - t0).total_seconds(), s["seconds"], duration(s["seconds"]),
                              f"{s['start']} → {s.get('end') or 'running'}{rows}"))
    return t0, spans


def timeline(steps: list[dict]) -> str:
    """The steps as a Gantt chart (the seed's Timeline, drawn); `steps` must not be empty."""
    t0, spans = timeline_spans(steps)
    return svg.gantt(f"Backfill timeline ({t0:%Y-%m-%d %H:%M:%S} UTC start)", spans,
                     x_label=f"time since {t0:%H:%M:%S} UTC")


def scope_charts(doc: dict) -> dict[str, tuple[str, str]]:
    """{file stem: (alt text, svg)} for a scope/verify document."""
    w = words(doc)
    return {"daily-volume": (f"{w.Many} per day: Postgres vs ClickHouse", daily_volume(doc)),
            "duplicates": (f"Duplicate {w.many} per day", duplicates(doc)),
            "usecases": (f"{w.breakdown} distribution", usecases(doc)),
            "stale-reasons": (f"Why stale {w.many} are stale", stale_reasons(doc))}


def demo_charts(before: dict, after: dict, steps: list[dict]) -> dict[str, tuple[str, str]]:
    """{file stem: (alt text, svg)} for the demo: before/after, and the timeline when there are steps."""
    w = words(before)
    charts = {"daily-volume": (f"{w.Many} per day: Postgres vs ClickHouse before and after",
                               daily_volume(before, after)),
              "duplicates": (f"Duplicate {w.many} per day", duplicates(before, after)),
              "usecases": (f"{w.breakdown} distribution before and after", usecases(before, after)),
              "stale-reasons": (f"Why stale {w.many} were stale", stale_reasons(before))}
    if steps:
        charts["timeline"] = ("Timeline of the demo's steps", timeline(steps))
    return charts


# -- the daily job, run by run -------------------------------------------------------------------------------

def _fixed_text(kinds: dict[str, int], w: Words) -> str:
    parts = [f"{n:,} {kind}" for kind, n in kinds.items() if n]
    return f"{', '.join(parts)} {w.many}" if parts else f"no {w.many} differed"


def _cell(run: DailyRun, day: dt.date, w: Words) -> svg.Cell | None:
    note = run.notes.get(day)
    extra = f"\n{note}" if note else ""
    if day == run.day:
        return svg.Cell(POSTGRES, f"{day}: synced (the run's day){extra}")
    if day not in run.checked:
        return None
    if day in run.healed:
        return svg.Cell(BEFORE, f"{day}: drifted, healed: {_fixed_text(dict(run.fixed.get(day, {})), w)}{extra}")
    if day in run.drifted:
        return svg.Cell(DUPLICATES, f"{day}: drifted, left for a later run{extra}")
    return svg.Cell(IN_SYNC, f"{day}: checked, in sync{extra}")


def daily_job_grid(job: DailyJob, w: Words | None = None) -> str:
    """One row per run, one column per day: the day it synced, the days of its lookback in sync, and the
    ones it found drifted and healed (or left)."""
    w = w or Words()
    days = job.calendar
    legend = [("synced (the run's day)", POSTGRES), ("checked: in sync", IN_SYNC),
              ("checked: drifted, healed", BEFORE)]
    if any(r.left for r in job.runs):
        legend.append(("drifted, left", DUPLICATES))
    cells = [[_cell(r, d, w) for d in days] for r in job.runs]
    return svg.grid_chart(f"Each run of the daily job: its day and the {job.lookback} days it checked",
                          [f"run of {r.day}" for r in job.runs], [f"{d:%m-%d}" for d in days], cells,
                          legend=legend, x_label=w.day_axis, y_label="run")


def daily_job_days(job: DailyJob) -> str:
    """Days checked, drifted and healed per run."""
    runs = job.runs
    return svg.grouped_bar_chart(
        "Days checked, drifted and healed per run", [str(r.day) for r in runs],
        [svg.Series("days checked", [len(r.checked) for r in runs], IN_SYNC),
         svg.Series("days drifted", [len(r.drifted) for r in runs], BEFORE),
         svg.Series("days healed", [len(r.healed) for r in runs], AFTER)],
        x_label="run (the day it synced)", y_label="days", height=260,
        tooltips=[", ".join(str(d) for d in r.drifted) or "nothing drifted" for r in runs])


def daily_job_rows(job: DailyJob, w: Words | None = None) -> str:
    """Rows of drift each run fixed, by kind (stale, changed, missing, duplicates: the kinds found)."""
    w = w or Words()
    runs = job.runs
    by_kind = [r.fixed_by_kind() for r in runs]
    colors = {"stale": BEFORE, "changed": POSTGRES, "missing": AFTER, "duplicates": DUPLICATES}
    series = [svg.Series(kind, [k[kind] for k in by_kind], colors[kind]) for kind in colors
              if any(k[kind] for k in by_kind)] or [svg.Series("stale", [0] * len(runs), BEFORE)]
    return svg.grouped_bar_chart(
        f"Drift fixed per run ({w.many})", [str(r.day) for r in runs], series,
        x_label="run (the day it synced)", y_label=w.many, height=260,
        tooltips=[f"{r.rows_written:,} rows written" for r in runs], empty_text="no drift found")


def daily_job_charts(job: DailyJob, w: Words | None = None) -> dict[str, tuple[str, str]]:
    """{file stem: (alt text, svg)} of the daily job's runs."""
    return {"daily-job-runs": ("Each run's day and the days it checked, drifted and healed",
                               daily_job_grid(job, w)),
            "daily-job-days": ("Days checked, drifted and healed per run", daily_job_days(job)),
            "daily-job-fixed": ("Drift fixed per run", daily_job_rows(job, w))}
