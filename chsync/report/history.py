"""`chsync history --html`: every day of a table as a calendar heatmap (one block per month, a column per
week, Monday on top), coloured by what the ledger knows of the day: never proven, proven (darker the more
recent), healed (proven since chsync rewrote it), drift found and not proven since. Rendered from the
`chsync history --json` document; self-contained like the other reports (no script, nothing fetched)."""

from __future__ import annotations

import datetime as dt

from .html import WEEKDAYS, _page, _section, escape_html, table

CSS = """
.months{display:flex;flex-wrap:wrap;gap:18px 26px;margin:1em 0}
.month h3{margin:0 0 .3em;font-size:.9rem}
table.cal{border-collapse:separate;border-spacing:3px;margin:0;font-size:.7rem}
table.cal th{background:none;border:0;padding:0 4px 0 0;color:#57606a;font-weight:400;text-align:right}
table.cal td{width:15px;height:15px;padding:0;border:0;border-radius:3px}
.pad{background:none}
.never{background:#d0d7de}
.drifted{background:#cf222e}
.healed{background:#0969da}
.fresh{background:#1a7f37}
.recent{background:#4ac26b}
.old{background:#aceebb}
.legend span{display:inline-block;width:12px;height:12px;border-radius:3px;margin:0 4px 0 12px;vertical-align:-1px}
"""
# How a proven day's colour fades with the age of its proof.
AGES = ((7 * 86400, "fresh", "proven within a week"), (30 * 86400, "recent", "proven within 30 days"),
        (float("inf"), "old", "proven longer ago"))
STATES = (("drifted", "drift found, not proven since"), ("healed", "healed: rewritten, proven since"),
          ("never", "never proven"))


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for limit, unit in ((3600, "min"), (86400, "h"), (float("inf"), "d")):
        if seconds < limit:
            size = {"min": 60, "h": 3600, "d": 86400}[unit]
            return f"{seconds / size:.0f} {unit} ago"
    return ""


def _class(day: dict) -> str:
    if day["state"] != "proven":
        return day["state"]
    return next(cls for limit, cls, _ in AGES if day["proof_age_seconds"] < limit)


def _tooltip(day: dict) -> str:
    parts = [f"{day['day']}: {day['state']}"]
    if day["last_proven"]:
        parts.append(f"last proven {_ago(day['proof_age_seconds'])} ({day['rows']:,} rows)")
    if day["last_drift"]:
        parts.append(f"drift found {day['last_drift']}")
    if day["last_healed"]:
        parts.append(f"healed {day['last_healed']}")
    return "; ".join(parts)


def _month(first: dt.date, days: dict[str, dict]) -> str:
    """One month: rows Monday..Sunday, a column per week; days outside the history are blank."""
    start = first - dt.timedelta(days=first.weekday())
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    weeks = -(-((nxt - start).days) // 7)
    rows = []
    for weekday in range(7):
        cells = []
        for week in range(weeks):
            day = start + dt.timedelta(days=7 * week + weekday)
            found = days.get(day.isoformat()) if first <= day < nxt else None
            cells.append(f'<td class="{_class(found)}" title="{escape_html(_tooltip(found))}"></td>' if found
                         else '<td class="pad"></td>')
        rows.append(f"<tr><th>{WEEKDAYS[weekday][:1]}</th>{''.join(cells)}</tr>")
    return (f'<div class="month"><h3>{first:%B %Y}</h3><table class="cal" aria-label="{first:%Y-%m}">'
            f"{''.join(rows)}</table></div>")


def history_html(doc: dict) -> str:
    days = {d["day"]: d for d in doc["days"]}
    months = sorted({dt.date.fromisoformat(d).replace(day=1) for d in days})
    legend = " ".join(f'<span class="{cls}"></span>{escape_html(text)}'
                      for cls, text in [(c, t) for _, c, t in AGES] + list(STATES))
    counts = {state: sum(1 for d in doc["days"] if d["state"] == state) for state in
              ("proven", "healed", "drifted", "never")}
    oldest = doc["oldest_proof_age_seconds"]
    who = f" of {escape_html(doc['customer'])}" if doc["customer"] else ""
    subtitle = (f"{escape_html(doc['table'])}{who}: {len(days):,} days"
                + (f", {escape_html(doc['from'])} – {escape_html(doc['to'])}" if days else "")
                + f"; as of {escape_html(doc['now'])}")
    summary = table(["", "days"], [["proven", counts["proven"]], ["healed (proven since)", counts["healed"]],
                                   ["drift found, not proven since", counts["drifted"]],
                                   ["never proven", counts["never"]],
                                   ["oldest proof", _ago(oldest) if oldest is not None else "—"]], "lr")
    calendar = (f'<p class="legend note">{legend}</p><div class="months">'
                + "".join(_month(m, days) for m in months) + "</div>") if months else "<p>No days yet.</p>"
    page = _page("History", subtitle, [_section("summary", "Summary", summary),
                                       _section("calendar", "Every day", calendar)])
    return page.replace("</style>", CSS + "</style>", 1).replace("hover a bar", "hover a day")
