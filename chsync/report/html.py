"""The seed's report as one self-contained HTML file: tables plus inline SVG charts, nothing to fetch.

`scope_html(doc)` renders a scope/verify document (`chsync scope --json`), `demo_html(doc)` the demo
document (before, after, sync, timeline). Sections follow the seed: Data Volume Summary, ClickHouse vs Postgres, Daily
Volume, Usecase Distribution, then — only when the document has them — Duplicate impact, Backfill
timeline, Results and Comparison with Postgres. Every piece of text from the document is escaped; a
Content-Security-Policy forbids scripts and any network access, so the page opens the same offline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html import escape

from . import charts
from . import markdown as md
from .daily import DailyJob
from .words import Words, words

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# The seed's full backfill (bulk DELETE + 49 cron runs), the baseline the demo is compared with.
SEED_BACKFILL = {"rows": "1,539,530", "duration": "15 min 17 s", "rate": "≈1.7K rows/s", "window": "≈16.5 min",
                 "duplicates_after": "0", "vs_postgres_after": "+29,112 (~1.9%)"}

CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#1f2328;line-height:1.45;
 font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
main{max-width:1080px;margin:0 auto;padding:28px 32px 56px;background:#fff;min-height:100vh;
 box-shadow:0 0 0 1px #e5e7eb}
h1{font-size:1.55rem;margin:0 0 .2em}
h2{font-size:1.2rem;margin:2.2em 0 .7em;padding-bottom:.3em;border-bottom:1px solid #e5e7eb}
h3{font-size:1rem;margin:1.5em 0 .4em}
p{margin:.5em 0}
.sub,.note{color:#57606a}
.note{font-size:.88rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.88em;
 background:#f3f4f6;padding:1px 4px;border-radius:4px}
table{border-collapse:collapse;margin:.7em 0 1em;font-size:.9rem}
th,td{padding:5px 12px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600;border-bottom:1px solid #d0d7de}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th.num{white-space:normal}
.wide{overflow-x:auto}
table.compact{font-size:.82rem}
table.compact th,table.compact td{padding:4px 8px}
table.compact td:first-child{white-space:nowrap}
tr.drift td{background:#fff8f0}
tr.total td{font-weight:600;border-top:1px solid #d0d7de}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:1.2em 0}
.card{border:1px solid #e5e7eb;border-radius:10px;padding:10px 14px}
.card .v{font-size:1.35rem;font-weight:600;font-variant-numeric:tabular-nums}
.card .k{color:#57606a;font-size:.82rem}
.badge{display:inline-block;white-space:nowrap;padding:2px 10px;border-radius:999px;font-weight:600;font-size:.85rem}
.ok{background:#dafbe1;color:#116329}
.bad{background:#ffebe9;color:#a40e26}
figure{margin:1.2em 0}
svg.chart{display:block;max-width:100%;height:auto}
footer{margin-top:3em;color:#8c959f;font-size:.8rem}
"""


def escape_html(value: object) -> str:
    """Document text as HTML, in element text and in quoted attribute values alike: the page's one escaping
    rule (& < > " ' as character references)."""
    return escape(str(value))


class Raw(str):
    """Markup built here (already escaped)."""


def _cell(v: object) -> str:
    if isinstance(v, Raw):
        return v
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    return escape_html(v)


def table(header: list[str], rows: list[list], align: str = "", *, id: str = "",
          row_class: Callable[[int], str] | None = None, compact: bool = False) -> str:
    """`align`: one letter per column, 'l' or 'r' (numbers); missing letters mean 'l'."""
    cls = [' class="num"' if (align[i:i + 1] == "r") else "" for i in range(len(header))]
    head = "".join(f"<th{cls[i]}>{escape_html(h)}</th>" for i, h in enumerate(header))
    body = []
    for k, row in enumerate(rows):
        rc = row_class(k) if row_class else ""
        body.append((f'<tr class="{rc}">' if rc else "<tr>")
                    + "".join(f"<td{cls[i]}>{_cell(c)}</td>" for i, c in enumerate(row)) + "</tr>")
    attrs = (f' id="{escape_html(id)}"' if id else "") + (' class="compact"' if compact else "")
    t = f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="wide">{t}</div>' if compact else t


def _strong(v: object) -> Raw:
    return Raw(f"<strong>{_cell(v)}</strong>")


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def _figure(chart: str) -> str:
    return f"<figure>{chart}</figure>"


def _section(id: str, heading: str, *parts: str) -> str:
    return f'<section id="{escape_html(id)}"><h2>{escape_html(heading)}</h2>{"".join(parts)}</section>'


def _badge(in_sync: bool) -> Raw:
    return Raw('<span class="badge ok">in sync</span>' if in_sync else '<span class="badge bad">out of sync</span>')


def _delta(after: int, before: int) -> str:
    if after == before:
        return "0"
    pct = f" ({(after - before) / before:+.1%})" if before else ""
    return f"{after - before:+,}{pct}"


def _per_conversation(sink: dict) -> str:
    return f"{sink['rows'] / sink['distinct']:.2f}x" if sink["distinct"] else "—"


def _weekday(day: str) -> str:
    return f"{day} ({WEEKDAYS[dt.date.fromisoformat(day).weekday()]})"


def _page(title: str, subtitle: str, sections: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape_html(title)}</title><style>{CSS}</style></head>\n<body><main>"
        f"<h1>{escape_html(title)}</h1><p class=\"sub\">{subtitle}</p>\n"
        + "\n".join(s for s in sections if s)
        + "<footer>Generated by chsync. Self-contained: no scripts, no network; hover a bar for its numbers."
          "</footer></main></body></html>\n")


# -- sections shared by scope and demo ---------------------------------------------------------------------

def _cards(doc: dict) -> str:
    src, snk, w = doc["source"], doc["sink"], words(doc)
    items = [(f"Postgres {w.many}", f"{src['rows']:,}"),
             ("ClickHouse rows", f"{snk['rows']:,}"),
             ("ClickHouse distinct", f"{snk['distinct']:,}"),
             (f"Duplicate {w.many}", f"{snk['duplicate_keys']:,}"),
             ("Days out of sync", f"{sum(not d['in_sync'] for d in doc['days'])} of {len(doc['days'])}")]
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="v">{escape_html(v)}</div><div class="k">{escape_html(k)}</div></div>'
        for k, v in items) + "</div>"


def volume_summary(doc: dict, heading: str = "Data Volume Summary") -> str:
    rows = md.volume_rows(doc, strong=_strong, verdict=_badge)
    return _section("data-volume-summary", heading, _cards(doc), table(["Metric", "Count"], rows, "lr"))


def clickhouse_vs_postgres(doc: dict, heading: str = "ClickHouse vs Postgres") -> str:
    src, snk, totals, w = doc["source"]["rows"], doc["sink"], doc["totals"], words(doc)
    more = "more" if snk["distinct"] > src else "fewer" if snk["distinct"] < src else "as many"
    than = "as" if more == "as many" else "than"
    text = [f"ClickHouse has <strong>{more}</strong> distinct {escape_html(w.many)} ({snk['distinct']:,}) {than} "
            f"Postgres matches ({src:,})" + (f": {_delta(snk['distinct'], src)}." if more != "as many" else ".")
            + f" {totals['stale']:,} are stale (in ClickHouse, not in Postgres for that day), "
              f"{totals['missing']:,} missing, {totals['changed']:,} changed; "
              f"{snk['duplicate_keys']:,} {escape_html(w.many)} have more than one row "
              f"({snk['extra_duplicate_rows']:,} extra rows)."]
    split = snk.get("duplicates_by_placement") or {}
    if split.get("same_shard") or split.get("cross_shard"):
        text.append(f"Of the duplicates, {split.get('same_shard', 0):,} sit on one shard (merges may collapse them) "
                    f"and {split.get('cross_shard', 0):,} across shards (nothing in ClickHouse ever will).")
    chart = charts.stale_reasons(doc)
    columns = [[c, n] for c, n in (doc.get("changed_columns") or {}).items()]
    changed = (table(["Changed column", w.Many], columns, "lr") if columns
               else _p(f'<span class="note">No changed {escape_html(w.many)}.</span>'))
    return _section("clickhouse-vs-postgres", heading, *(_p(t) for t in text), _figure(chart),
                    "<h3>Changed columns</h3>", changed)


def _daily_charts(doc: dict, after: dict | None = None) -> str:
    return _figure(charts.daily_volume(doc, after)) + _figure(charts.duplicates(doc, after))


def daily_volume(doc: dict) -> str:
    rows = [[_weekday(d["day"]), d["source"], d["sink_rows"], d["sink_distinct"], d["duplicates"], d["missing"],
             d["stale"], d["changed"], _badge(d["in_sync"])] for d in doc["days"]]
    t = table(["Day", "Postgres (filter)", "ClickHouse rows", "ClickHouse unique", "CH duplicates", "Missing",
               "Stale", "Changed", "In sync"], rows, "lrrrrrrrl", id="daily-volume-table",
              row_class=lambda k: "" if doc["days"][k]["in_sync"] else "drift", compact=True)
    return _section("daily-volume", "Daily Volume", _daily_charts(doc), t)


def usecase_distribution(doc: dict) -> str:
    ucs = doc["breakdown"]["values"]
    labels = [u["value"] or "(none)" for u in ucs]
    chart = charts.usecases(doc)
    rows = [[lab, u["source"], u["sink"], md.ratio(u["sink"], u["source"])] for lab, u in zip(labels, ucs)]
    title = words(doc).breakdown
    return _section("usecase-distribution", f"{title} Distribution", _figure(chart),
                    table([title, "Postgres", "ClickHouse", "Ratio"], rows, "lrrr", id="usecase-table"))


def scope_html(doc: dict, title: str = "Scope") -> str:
    subtitle = (f"{escape_html(md.subject(doc))} · {escape_html(doc['from'])} – {escape_html(doc['to'])} · "
                f"{len(doc['days'])} days · {_badge(doc['in_sync'])}"
                + (f" · sink table <code>{escape_html(doc['sink_table'])}</code>" if doc.get("sink_table") else ""))
    return _page(f"{title}: {md.subject(doc)} {doc['from']} – {doc['to']}", subtitle, [
        volume_summary(doc), clickhouse_vs_postgres(doc), daily_volume(doc), usecase_distribution(doc)])


# -- demo: before / after --------------------------------------------------------------------------------

def _daily_before_after(before: dict, after: dict, sync: dict) -> str:
    written = {d["day"]: d for d in (sync or {}).get("days", [])}
    a = {d["day"]: d for d in after["days"]}
    actions = sorted({w.get("action") or "" for w in written.values()})
    show_action = len(actions) > 1
    rows = []
    for d in before["days"]:
        w, x = written.get(d["day"], {}), a.get(d["day"], {})
        rows.append([_weekday(d["day"]), d["source"], d["sink_rows"], d["sink_distinct"], d["duplicates"],
                     d["missing"], d["stale"], d["changed"]] + ([w.get("action", "")] if show_action else [])
                    + [w.get("rows_written"), x.get("sink_rows"), _badge(x["in_sync"]) if x else ""])
    header = (["Day", "Postgres (filter)", "CH rows (before)", "CH unique (before)", "CH duplicates", "Missing",
               "Stale", "Changed"] + (["Sync action"] if show_action else [])
              + ["Rows written", "CH rows (after)", "After"])
    t = table(header, rows, "lrrrrrrr" + ("l" if show_action else "") + "rrl", id="daily-volume-table",
              row_class=lambda k: "" if before["days"][k]["in_sync"] else "drift", compact=True)
    note = "Shaded rows were out of sync before the repair."
    if actions and not show_action:
        note += f" Sync action on every day: {actions[0] or 'none'}."
    return _section("daily-volume", "Daily Volume", _daily_charts(before, after),
                    _p(f'<span class="note">{escape_html(note)}</span>'), t)


def _usecases_before_after(before: dict, after: dict) -> str:
    a = {u["value"]: u for u in after["breakdown"]["values"]}
    b = {u["value"]: u for u in before["breakdown"]["values"]}
    names = list(b) + [n for n in a if n not in b]
    pg = [a.get(n, b.get(n, {})).get("source", 0) for n in names]
    bef = [b.get(n, {}).get("sink", 0) for n in names]
    aft = [a.get(n, {}).get("sink", 0) for n in names]
    labels = [n or "(none)" for n in names]
    chart = charts.usecases(before, after)
    rows = [[lab, x, y, p, md.ratio(x, p), md.ratio(y, p)] for lab, x, y, p in zip(labels, bef, aft, pg)]
    title = words(before).breakdown
    return _section("usecase-distribution", f"{title} Distribution", _figure(chart),
                    table([title, "Before", "After", "Postgres", "Ratio before", "Ratio after"], rows, "lrrrrr",
                          id="usecase-table"))


def _duplicate_impact(before: dict, after: dict) -> str:
    b, a, w = before["sink"], after["sink"], words(before)
    rows = [[name, b[k], a[k], _delta(a[k], b[k])] for name, k in (
        ("Total rows", "rows"), (f"Distinct {w.many}", "distinct"),
        (f"{w.Many} with duplicates", "duplicate_keys"),
        ("Extra duplicate rows", "extra_duplicate_rows"))]
    rows.append([f"Rows per {w.one}", _per_conversation(b), _per_conversation(a), ""])
    share = b["duplicate_keys"] / b["distinct"] if b["distinct"] else 0
    text = (f"Before the repair {b['duplicate_keys']:,} {escape_html(w.many)} "
            f"({share:.{1 if share >= 0.01 else 2}%}) "
            f"had more than one row, "
            f"{b['extra_duplicate_rows']:,} extra rows in all; after it, {a['duplicate_keys']:,}.")
    return _section("duplicate-impact", "Duplicate impact", _p(text),
                    table(["Metric", "Before", "After", "Delta"], rows, "lrrr"))


def _timeline(steps: list[dict]) -> str:
    if not steps:
        return ""
    t0, spans = charts.timeline_spans(steps)
    rows = [[s["step"], s["start"][11:19], (s.get("end") or "")[11:19], md.duration(s["seconds"]), s.get("rows")]
            for s in steps]
    ends = [dt.datetime.fromisoformat(s["end"]) for s in steps if s.get("end")]
    total = max([(e - t0).total_seconds() for e in ends] + [sp.start + sp.seconds for sp in spans])
    rows.append([_strong("Total"), _strong(steps[0]["start"][11:19]),
                 _strong(max(ends).isoformat()[11:19] if ends else ""), _strong(md.duration(total)), None])
    chart = charts.timeline(steps)
    return _section("backfill-timeline", "Backfill timeline", _figure(chart),
                    table(["Step", "Start (UTC)", "End (UTC)", "Duration", "Rows"], rows, "lrrrr", id="timeline-table",
                          row_class=lambda k: "total" if k == len(steps) else ""))


def _results(doc: dict) -> str:
    before, after, sync = doc["before"], doc["after"], doc.get("sync") or {}

    def metrics(d: dict) -> list:
        return [d["sink"]["rows"], d["sink"]["distinct"], d["sink"]["duplicate_keys"],
                _per_conversation(d["sink"]), d["totals"]["missing"], d["totals"]["stale"], d["totals"]["changed"],
                sum(1 for x in d["days"] if not x["in_sync"])]
    w = words(before)
    names = ["Total rows", f"Distinct {w.many}", f"Duplicate {w.many}", f"Rows per {w.one}", "Missing",
             "Stale", "Changed", "Days out of sync"]
    rows = [[n, b, _strong(a)] for n, b, a in zip(names, metrics(before), metrics(after))]
    verdict = ('<span class="badge ok">Verify: in sync — every day equals Postgres</span>' if after["in_sync"]
               else '<span class="badge bad">Verify: NOT in sync</span>')
    parts = [_p(verdict), table(["Metric", "Before", "After"], rows, "lrr", id="results-table")]
    refused = sync.get("refused") or []
    if refused:
        parts.append(_p(f"<strong>Refused days</strong> (left untouched): {escape_html(', '.join(map(str, refused)))}"))
    step = next((s for s in doc.get("timeline", []) if s["step"].startswith("Sync")), None)
    if sync and step:
        rate = sync["rows_written"] / step["seconds"] if step["seconds"] else 0
        parts += ["<h3>Compared with the seed's backfill</h3>", table(
            ["", "Seed (bulk DELETE + 49 cron runs)", "chsync sync (per-day swap)"], [
                ["Rows written", SEED_BACKFILL["rows"], sync["rows_written"]],
                ["Duration", SEED_BACKFILL["duration"], md.duration(step["seconds"])],
                ["Rate", SEED_BACKFILL["rate"], f"≈{rate / 1000:.1f}K rows/s"],
                ["Window with an empty or partial table", SEED_BACKFILL["window"],
                 "none (each day swapped as one partition)"],
                ["Duplicates after", SEED_BACKFILL["duplicates_after"], after["sink"]["duplicate_keys"]],
                ["ClickHouse vs Postgres after", SEED_BACKFILL["vs_postgres_after"],
                 _delta(after["sink"]["distinct"], after["source"]["rows"])]], "lrr")]
    return _section("results", "Results", *parts)


def _comparison(before: dict, after: dict) -> str:
    pb, pa = before["source"]["rows"], after["source"]["rows"]
    w = words(before)
    rows = [[f"Total {w.many}", pa, before["sink"]["distinct"], after["sink"]["distinct"]],
            ["Total rows", pa, before["sink"]["rows"], after["sink"]["rows"]],
            ["Delta (distinct vs Postgres)", "—", _delta(before["sink"]["distinct"], pb),
             _delta(after["sink"]["distinct"], pa)]]
    note = (f"ClickHouse now holds exactly the {w.many} Postgres matches." if after["sink"]["distinct"] == pa
            == after["sink"]["rows"] else "ClickHouse still differs from Postgres: see the Daily Volume table.")
    if pb != pa:
        note += f" Postgres itself changed during the run ({pb:,} → {pa:,})."
    return _section("comparison-with-postgres", "Comparison with Postgres",
                    table(["Metric", "Postgres (filter)", "ClickHouse (before)", "ClickHouse (after)"], rows, "lrrr"),
                    _p(escape_html(note)))


def daily_job(job: DailyJob, w: Words | None = None, heading: str = "The daily job, run by run",
              intro: str = "") -> str:
    """The runs of the daily job: what each synced, checked, found drifted and healed (charts and a table),
    then the verify after them. `intro`: a paragraph of the caller's words before them (escaped here)."""
    w = w or Words()
    parts = [_p(escape_html(intro))] if intro else []
    parts.append(_p(escape_html(md.daily_job_summary(job))))
    parts += [_figure(charts.daily_job_grid(job, w)), _figure(charts.daily_job_days(job)),
              _figure(charts.daily_job_rows(job, w))]
    parts.append(table(md.DAILY_JOB_HEADER, [md.daily_job_row(r) for r in job.runs], "llllrlrl",
                       id="daily-job-table", row_class=lambda k: "drift" if job.runs[k].drifted else "",
                       compact=True))
    if job.verified:
        badge = "ok" if job.verified.in_sync else "bad"
        parts.append(_p(f'<span class="badge {badge}">{escape_html(md.verdict_text(job.verified, w))}</span>'))
    return _section("daily-job", heading, *parts)


def demo_html(doc: dict, job: DailyJob | None = None, job_intro: str = "") -> str:
    """`job`: the runs of the daily job after the repair (the demo's act 2), shown after the results."""
    before, after = doc["before"], doc["after"]
    steps = doc.get("timeline") or []
    when = f" · run {steps[0]['start'][:16].replace('T', ' ')} UTC" if steps else ""
    subtitle = (f"{escape_html(md.subject(before))} · {escape_html(before['from'])} – "
                f"{escape_html(before['to'])} · "
                f"<code>chsync demo --scale {escape_html(doc.get('scale'))} --seed {escape_html(doc.get('seed'))}"
                f"</code> on embedded Postgres + chDB{escape_html(when)} · before {_badge(before['in_sync'])} "
                f"after {_badge(after['in_sync'])}")
    return _page(f"chsync demo: {md.subject(before)} backfill scope and repair", subtitle, [
        volume_summary(before, "Data Volume Summary (before)"),
        clickhouse_vs_postgres(before, "ClickHouse vs Postgres (before)"),
        _daily_before_after(before, after, doc.get("sync") or {}),
        _usecases_before_after(before, after),
        _duplicate_impact(before, after),
        _timeline(steps),
        _results(doc),
        _comparison(before, after),
        daily_job(job, words(before), "Act 2: the daily job that heals itself", job_intro) if job else "",
    ])
