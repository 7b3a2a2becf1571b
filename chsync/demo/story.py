"""`chsync demo`: the seed's incident and its repair, told on one machine with real components; or, with
--config, the same story on generated data of another table (run_table_demo)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import shlex
from pathlib import Path

from .. import embedded, log
from ..apply.sync import SyncRequest, run_sync
from ..dates import day_range
from ..report import markdown as md
from ..report.charts import daily_job_charts, demo_charts
from ..report.files import write_charts, write_scope_report
from ..report.html import SEED_BACKFILL as SEED
from ..report.html import demo_html
from ..report.words import words
from ..schemas import tagged
from ..scope import build_scope
from ..secrets import redact_url
from ..sink import open_sink
from ..source import open_source
from ..spec import load_specs
from ..spec.model import TableSpec
from ..timeline import Timeline
from . import daily

FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 2, 18)
DEFAULT_SCALE = 1.0
DEFAULT_TABLE_SCALE = 0.2      # 28,000 rows: the generator of any table makes its rows in Python


ACT2_INTRO = (
    "After the repair a week passes. Every day new conversations arrive, and Postgres keeps changing a few "
    "of earlier days, the ways the drift began: an agent who started that week is flagged as a dev user, "
    "conversations are re-opened (ended_at back to NULL), get a label without their updated_at moving, or "
    f"are deleted; once, a day weeks older changes too. Every night the daily job runs, `chsync sync --day D "
    f"--lookback {daily.LOOKBACK} --sweep {daily.SWEEP}`: it syncs the day and compares with Postgres the "
    f"{daily.LOOKBACK} days before it and the day of the history proven longest ago (so every day is proven "
    "again in turn), each database fingerprinting its own rows, and replaces exactly the days that differ.")


def run_demo(workdir: str, *, scale: float | None = None, seed: int = 1, customer: str = "alaska-air") -> dict:
    from .generate import generate
    scale = DEFAULT_SCALE if scale is None else scale
    workdir_path = Path(workdir).resolve()
    spec = load_specs(None)[0].with_customer(customer)
    timeline = Timeline()

    with timeline.step("Start embedded Postgres + chDB"):
        urls = embedded.up(workdir_path)
        log.info(f"source {urls['source']}  sink {urls['sink']}")
    source, sink = open_source(urls["source"], spec), open_sink(urls["sink"], spec)
    try:
        with timeline.step(f"Generate seed-shaped data (scale {scale})") as step:
            truth = generate(urls["source"], sink, scale=scale, seed=seed, customer=customer,
                             progress=lambda m: log.info(f"  generate: {m}"))
            step.rows = sum(d["sink_rows"] for d in truth["days"].values())
        with timeline.step("Scope (before)"):
            before = build_scope(source, sink, FIRST, LAST).to_json()
        log.info(f"before: {before['sink']['rows']:,} sink rows, {before['source']['rows']:,} in Postgres, "
                 f"{sum(not d['in_sync'] for d in before['days'])} days out of sync")
        with timeline.step(f"Sync {len(day_range(FIRST, LAST))} days (stage + REPLACE PARTITION)") as step:
            synced = run_sync(source, sink, SyncRequest(days=day_range(FIRST, LAST)))
            step.rows = sum(d.rows_written for d in synced.days)
        with timeline.step("Verify (= scope after)"):   # as `chsync verify`: Postgres hashes its own rows
            after = build_scope(source, sink, FIRST, LAST, mode="push").to_json()
        log.info(f"after: in sync = {after['in_sync']}")
        log.info(f"act 2: a week of the daily job, each night syncing its day and checking the "
                 f"{daily.LOOKBACK} days before it")
        act2 = daily.run_week(urls["source"], source, sink, scale=scale, seed=seed, customer=customer, first=FIRST)
    finally:
        source.close()
        sink.close()

    doc = tagged("demo", {
        "workdir": str(workdir_path), "scale": scale, "seed": seed, "source": urls["source"], "sink": urls["sink"],
        "before": before, "after": after, "sync": synced.to_json(), "timeline": timeline.as_list(), "act2": act2,
        "report": str(workdir_path / "report.md"), "report_html": str(workdir_path / "report.html"),
        "embedded": still_running(workdir_path, urls["source"], FIRST, dt.date.fromisoformat(act2["to"]))})
    job = daily.daily_job(act2)
    images = write_charts(workdir_path, demo_charts(before, after, doc["timeline"])
                          | daily_job_charts(job, words(before)))
    (workdir_path / "report.md").write_text(render_report(doc, images))
    (workdir_path / "report.html").write_text(demo_html(doc, job, ACT2_INTRO.replace("`", "")))
    (workdir_path / "report.json").write_text(json.dumps(doc, indent=2, default=str))
    log.info(f"act 2: verify in sync = {act2['verify']['in_sync']}; report: {doc['report']}")
    return doc


def still_running(workdir: Path, source: str, first: dt.date, last: dt.date, config: str | None = None) -> dict:
    """The demo leaves its Postgres running (the data stays there to explore): how to reach it, how to stop
    it. Commands as a shell takes them (the workdir quoted); the URL without a password."""
    where = shlex.quote(str(workdir))
    spec = f" --config {shlex.quote(config)}" if config else ""
    return {"running": True, "source": redact_url(source),
            "explore": [f"psql {shlex.quote(redact_url(source))}",
                        f'eval "$(chsync embedded up --workdir {where})" && chsync{spec} verify --from {first} '
                        f"--to {last}"],
            "stop": f"chsync embedded down --workdir {where}"}


def still_running_lines(embedded: dict) -> list[str]:
    """The end of the demo's output: the Postgres it leaves running, to explore and to stop."""
    return ["The demo's Postgres is still running in the background, with the story's data. Explore it:",
            *(f"  {command}" for command in embedded["explore"]),
            "Stop it:", f"  {embedded['stop']}"]


def run_table_demo(workdir: str, spec: TableSpec, config: str, *, scale: float | None = None,
                   seed: int = 1) -> dict:
    """The story on `spec`'s own table: generate its drifted data, scope, sync every day, verify; writes
    WORKDIR/report.md and report.json, and the scope reports before and after (WORKDIR/before/,
    WORKDIR/after/: scope.md with charts, scope.html, scope.json)."""
    from ..source.catalog import require
    from .any_table import generate
    from .source_model import read_model
    from .table_report import render
    read_model(spec)   # a spec the generator cannot handle is refused before anything starts
    scale = DEFAULT_TABLE_SCALE if scale is None else scale
    workdir_path = Path(workdir).resolve()
    timeline = Timeline()
    with timeline.step("Start embedded Postgres + chDB"):
        urls = embedded.up(workdir_path)
        log.info(f"source {urls['source']}  sink {urls['sink']}")
    source, sink = open_source(urls["source"], spec), open_sink(urls["sink"], spec)
    try:
        with timeline.step(f"Generate {spec.noun[1]} with drift (scale {scale})") as step:
            truth = generate(urls["source"], sink, spec, scale=scale, seed=seed,
                             progress=lambda m: log.info(f"  generate: {m}"))
            step.rows = truth["totals"]["sink_rows"]
        first, last = dt.date.fromisoformat(truth["from"]), dt.date.fromisoformat(truth["to"])
        with timeline.step("Scope (before)"):
            require(source, spec)
            before = build_scope(source, sink, first, last).to_json()
        with timeline.step(f"Sync {len(day_range(first, last))} days") as step:
            synced = run_sync(source, sink, SyncRequest(days=day_range(first, last)))
            step.rows = sum(d.rows_written for d in synced.days)
        with timeline.step("Verify (= scope after)"):
            after = build_scope(source, sink, first, last, mode="push").to_json()
    finally:
        source.close()
        sink.close()
    doc = tagged("demo", {
        "workdir": str(workdir_path), "config": config, "table": spec.name, "scale": scale, "seed": seed,
        "source": urls["source"], "sink": urls["sink"], "truth": truth, "before": before, "after": after,
        "sync": synced.to_json(), "timeline": timeline.as_list(), "report": str(workdir_path / "report.md"),
        "embedded": still_running(workdir_path, urls["source"], first, last, config)})
    for name, scope in (("before", before), ("after", after)):
        write_scope_report(workdir_path / name, scope)
    (workdir_path / "report.md").write_text(render(doc))
    (workdir_path / "report.json").write_text(json.dumps(doc, indent=2, default=str))
    log.info(f"after: in sync = {after['in_sync']}; report: {doc['report']}")
    return doc


def render_report(doc: dict, images: dict[str, str] | None = None) -> str:
    """report.md; `images`: `{chart stem: Markdown image}` of the charts written next to it."""
    before, after, sync = doc["before"], doc["after"], doc["sync"]
    sync_step = next(s for s in doc["timeline"] if s["step"].startswith("Sync"))
    rate = sync["rows_written"] / sync_step["seconds"] if sync_step["seconds"] else 0
    img = functools.partial(md.images_of, images)
    return md.sections(
        f"# chsync demo: {md.escape_markdown(before['customer'])} backfill scope and repair",
        f"Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `chsync demo --scale {doc['scale']} "
        f"--seed {doc['seed']}` on embedded Postgres + chDB.",
        "## Data Volume Summary (before)", md.volume_summary(before),
        "## Daily Volume (before)", img("daily-volume", "duplicates"), md.daily_volume(before),
        "## Usecase Distribution", img("usecases"), md.usecases_before_after(before, after),
        "## Drift explained (before)", img("stale-reasons"), md.drift_explained(before),
        "## Timeline", img("timeline"), md.timeline_table(doc["timeline"]),
        "## Results", md.before_after(before, after),
        "## Comparison with the seed's backfill",
        md.table(["", "Seed (bulk DELETE + 49 cron runs)", "chsync sync (per-day swap)"], [
            ["Rows written", SEED["rows"], f"{sync['rows_written']:,}"],
            ["Duration", SEED["duration"], md.duration(sync_step["seconds"])],
            ["Rate", SEED["rate"], f"≈{rate / 1000:.1f}K rows/s"],
            ["Window with an empty or partial table", SEED["window"], "none (each day swapped as one partition)"],
            ["Duplicates after", SEED["duplicates_after"], f"{after['sink']['duplicate_keys']:,}"],
            ["ClickHouse vs Postgres after", SEED["vs_postgres_after"],
             f"{after['sink']['distinct'] - after['source']['rows']:+,}"],
        ]),
        f"**Verify: {'in sync — every day equals Postgres' if after['in_sync'] else 'NOT in sync'}.**",
        *(["## Act 2: the daily job that heals itself", ACT2_INTRO,
           md.daily_job_markdown(daily.daily_job(doc["act2"]), words(before), images)] if doc.get("act2") else []),
    )
