"""The seed's tables, generated: Data Volume Summary, Daily Volume, Usecase Distribution, Timeline."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from .daily import DailyJob, DailyRun, RangeVerdict
from .words import Words, words

# Backslash-escaped: what opens inline syntax (code spans, emphasis, links) or ends a table cell. An
# underscore between two letters or digits cannot open or close emphasis, so `dev_user` stays as it is.
INLINE_SYNTAX = re.compile(r"[\\`*\[\]|]|(?<![^\W_])_|_(?![^\W_])")
LINE_BREAK = re.compile(r"\r\n?|\n")


class Markdown(str):
    """Markup made here (e.g. emphasis around escaped text), written as is."""


def escape_markdown(value: object) -> str:
    """Document text as inert Markdown inline text: HTML is written as entities (& < >), inline syntax and
    pipes are backslash-escaped, line breaks become spaces (so the text can never start a line of its own)."""
    text = html.escape(str(value), quote=False)
    text = INLINE_SYNTAX.sub(lambda m: "\\" + m.group(), text)
    return LINE_BREAK.sub(" ", text)


def _cell(value: object) -> str:
    if isinstance(value, Markdown):
        return value
    return f"{value:,}" if isinstance(value, int) else escape_markdown(value)


def _bold(value: object) -> Markdown:
    return Markdown(f"**{_cell(value)}**")


def _yes_no(ok: bool) -> str:
    return "yes" if ok else _bold("no")


def table(header: list[str], rows: list[list]) -> str:
    """A pipe table; every cell that is not `Markdown` is escaped here."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(sink: int, source: int) -> str:
    return f"{sink / source:.2f}x" if source else ("—" if not sink else "∞")


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s} s" if m < 60 else f"{m // 60} h {m % 60} min"


def subject(doc: dict) -> str:
    """Whom a report is about: the customer, or the table of a spec without one."""
    return doc["customer"] or doc.get("table") or ""


def volume_rows(doc: dict, strong: Callable[[object], str] = _bold,
                verdict: Callable[[bool], str] = _yes_no) -> list:
    """The seed's Data Volume Summary rows; `strong` and `verdict` render emphasis for the format at hand."""
    src, snk, w = doc["source"], doc["sink"], words(doc)
    days = len(doc["days"])
    return [[f"Postgres {w.many} (filter match)", src["rows"]],
            ["ClickHouse total rows", snk["rows"]],
            [f"ClickHouse distinct {w.many}", snk["distinct"]],
            [strong(f"ClickHouse duplicate {w.many}"), strong(snk["duplicate_keys"])],
            ["ClickHouse extra duplicate rows", snk["extra_duplicate_rows"]],
            ["Missing in ClickHouse", doc["totals"]["missing"]],
            ["Stale in ClickHouse", doc["totals"]["stale"]],
            ["Changed (content differs)", doc["totals"]["changed"]],
            [f"Days in range ({doc['from']} – {doc['to']})", days],
            [f"Avg {w.many} per day (Postgres)", round(src["rows"] / days) if days else 0],
            *([["Profiles scanned", f"{src['units_scanned']:,} (filtered to {src['units_matched']:,}: "
                                    f"{doc['customer']})"]] if src.get("units_scanned") is not None else []),
            ["In sync", verdict(doc["in_sync"])]]


def volume_summary(doc: dict) -> str:
    return table(["Metric", "Count"], volume_rows(doc))


def daily_volume(doc: dict) -> str:
    rows = [[d["day"], d["source"], f"{d['sink_rows']:,} / {d['sink_distinct']:,} unique", d["duplicates"],
             d["missing"], d["stale"], d["changed"], _yes_no(d["in_sync"])] for d in doc["days"]]
    return table(["Day", "Postgres (filter)", "ClickHouse", "CH duplicates", "Missing", "Stale", "Changed",
                   "In sync"], rows)


def usecases(doc: dict) -> str:
    rows = [[u["value"] or "(none)", u["source"], u["sink"], ratio(u["sink"], u["source"])]
            for u in doc["breakdown"]["values"]]
    return table([words(doc).breakdown, "Postgres", "ClickHouse", "Ratio"], rows)


def drift_explained(doc: dict) -> str:
    reasons = [[r, n] for r, n in doc["stale_reasons"].items() if n]
    columns = [[c, n] for c, n in doc["changed_columns"].items()]
    w = words(doc)
    parts = [table(["Stale reason", w.Many], reasons) if reasons else f"No stale {w.many}."]
    parts.append(table(["Changed column", w.Many], columns) if columns else f"No changed {w.many}.")
    return "\n\n".join(parts)


def images_of(images: dict[str, str] | None, *stems: str) -> str:
    """The Markdown image lines of the charts `stems` that were written (none when `images` is None)."""
    return "\n\n".join(images[s] for s in stems if images and s in images)


def sections(*parts: str) -> str:
    """Blocks separated by blank lines; empty blocks (e.g. no images) leave no gap."""
    return "\n\n".join(p for p in parts if p) + "\n"


def scope_markdown(doc: dict, title: str = "Scope", images: dict[str, str] | None = None) -> str:
    """`images`: `{chart stem: Markdown image}` of charts written next to the file (files.py)."""
    return sections(
        f"# {escape_markdown(title)}: {escape_markdown(subject(doc))} {escape_markdown(doc['from'])} – "
        f"{escape_markdown(doc['to'])}",
        "## Data Volume Summary", volume_summary(doc),
        "## Daily Volume", images_of(images, "daily-volume", "duplicates"), daily_volume(doc),
        f"## {words(doc).breakdown} Distribution", images_of(images, "usecases"), usecases(doc),
        "## Drift explained", images_of(images, "stale-reasons"), drift_explained(doc),
    )


def timeline_table(steps: list[dict]) -> str:
    rows = [[s["step"], s["start"][11:19] if s["start"] else "", (s["end"] or "")[11:19], duration(s["seconds"]),
             "" if s.get("rows") is None else s["rows"]] for s in steps]
    return table(["Step", "Start (UTC)", "End (UTC)", "Duration", "Rows"], rows)


def before_after(before: dict, after: dict) -> str:
    def metrics(d: dict) -> list:
        return [d["sink"]["rows"], d["sink"]["distinct"], d["sink"]["duplicate_keys"],
                d["totals"]["missing"], d["totals"]["stale"], d["totals"]["changed"],
                sum(1 for x in d["days"] if not x["in_sync"])]
    w = words(before)
    names = ["Total rows", f"Distinct {w.many}", f"Duplicate {w.many}", "Missing", "Stale", "Changed",
             "Days out of sync"]
    return table(["Metric", "Before", "After"], [[n, b, a] for n, b, a in zip(names, metrics(before), metrics(after))])


def usecases_before_after(before: dict, after: dict) -> str:
    a = {u["value"]: u for u in after["breakdown"]["values"]}
    rows = [[u["value"] or "(none)", u["sink"], a.get(u["value"], {}).get("sink", 0), u["source"]]
            for u in before["breakdown"]["values"]]
    return table([words(before).breakdown, "Before", "After", "Postgres"], rows)


# -- the daily job, run by run -------------------------------------------------------------------------------

DAILY_JOB_HEADER = ["Run (day synced)", "Days checked", "Drifted days", "Healed", "Rows written",
                    "Drift fixed (rows)", "Time", "Changed in Postgres before the run"]


def daily_job_row(run: DailyRun) -> list:
    """A run's cells (text and numbers, unescaped): the same in Markdown and HTML. Its notes: the run's own
    day first, then the days before it."""
    checked = f"{len(run.checked)} ({run.checked[0]} – {run.checked[-1]})" if run.checked else "0"
    healed = f"{len(run.healed)}" + (f" ({len(run.left)} left)" if run.left else "")
    fixed = ", ".join(f"{n:,} {kind}" for kind, n in run.fixed_by_kind().items() if n)
    notes = "; ".join(f"{day}: {note}" for day, note in sorted(run.notes.items(),
                                                                key=lambda kv: (kv[0] != run.day, kv[0])))
    return [str(run.day), checked, ", ".join(map(str, run.drifted)) or "none", healed, run.rows_written,
            fixed or "—", duration(run.seconds), notes or "nothing"]


def daily_job_table(job: DailyJob) -> str:
    return table(DAILY_JOB_HEADER, [daily_job_row(r) for r in job.runs])


def verdict_text(v: RangeVerdict, w: Words | None = None) -> str:
    """The verify of a range after the runs, in words (unescaped)."""
    w = w or Words()
    if v.in_sync:
        return (f"Verify {v.first} – {v.last}: in sync — every day equals Postgres ({v.days} days, "
                f"{v.rows:,} {w.many}).")
    return f"Verify {v.first} – {v.last}: NOT in sync — {v.days_out_of_sync} of {v.days} days differ."


def daily_job_summary(job: DailyJob) -> str:
    """One sentence on all the runs (unescaped)."""
    drifted = sum(len(r.drifted) for r in job.runs)
    healed = sum(len(r.healed) for r in job.runs)
    left = sum(len(r.left) for r in job.runs)
    days = "the day" if job.sweep == 1 else f"the {job.sweep} days"
    swept = f" and {days} of its history proven longest ago" if job.sweep else ""
    return (f"{len(job.runs)} runs, each syncing its day and checking the {job.lookback} days before it{swept}: "
            f"{drifted} drifted days found, {healed} healed" + (f", {left} left." if left else ", none left."))


def daily_job_markdown(job: DailyJob, w: Words | None = None, images: dict[str, str] | None = None) -> str:
    """The runs' charts (when written), table and the verify after them."""
    return sections(
        escape_markdown(daily_job_summary(job)),
        images_of(images, "daily-job-runs", "daily-job-days", "daily-job-fixed"),
        daily_job_table(job),
        _bold(verdict_text(job.verified, w)) if job.verified else "",
    ).rstrip("\n")
