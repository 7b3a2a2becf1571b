"""Commands that change the sink, and their plans: sync, plan, backfill, runs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from .. import api, log
from ..dates import parse_range, resolve_days
from ..errors import EXIT_CHECKS_FAILED, BadInput, Refused
from ..schemas import tagged
from ..strategies import STRATEGIES
from .context import Context
from .main import (
    batch_option,
    command,
    emit,
    fan_out,
    main,
    metrics_options,
    mode_option,
    range_options,
    workers_option,
)

if TYPE_CHECKING:
    from ..plan.model import Plan
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource

STRATEGY_CHOICES = ["auto", *STRATEGIES]


@main.command()
@click.option("--day", metavar="YYYY-MM-DD", help="The day to sync (UTC, or the spec's day_timezone).")
@click.option("--from", "from_", metavar="YYYY-MM-DD", help="First day of a range.")
@click.option("--to", "to", metavar="YYYY-MM-DD", help="Last day of a range (inclusive).")
@click.option("--lookback", type=click.IntRange(0, 3650), default=None,
              help="With --day: also compare the N days before it with Postgres (per-day fingerprints) and "
                   "replace exactly those that differ. Default: the spec's [sync] lookback_days, else 0.")
@click.option("--only-drifted", is_flag=True,
              help="With --from/--to: compare every day and replace only those that differ.")
@click.option("--sweep", type=click.IntRange(0, 3650), default=0, metavar="K",
              help="With --day: also compare the K days of the table's whole history (from its first "
                   "day, or the spec's [sync] history_from) proven longest ago, or never, and heal those that "
                   "differ; every day is then proven at least once every (days / K) runs.")
@click.option("--max-heal-days", type=click.IntRange(0, None), default=None,
              help="Replace at most this many drifted days in one run; the rest are reported (exit 1).")
@click.option("--dry-run", is_flag=True, help="Compare and report what would be synced and healed; write nothing.")
@click.option("--wait", "wait", type=click.FloatRange(0, None), default=0.0, metavar="SECONDS",
              help="When another writer (a backfill or a sync) holds the table's lock, wait up to this long "
                   "instead of being refused (exit 3).")
@click.option("--allow-shrink", is_flag=True,
              help="Let a day become empty or shrink below half of what the sink holds.")
@mode_option("push")
@workers_option
@batch_option
@metrics_options
@command
def sync(ctx: Context, as_json: bool, day: str | None, from_: str | None, to: str | None, lookback: int | None,
         only_drifted: bool, sweep: int, max_heal_days: int | None, dry_run: bool, wait: float, allow_shrink: bool,
         mode: str, workers: int | None, batch_rows: int) -> int:
    """The daily job, idempotent: each day's source set REPLACES that day in the sink (staged, checked
    against the source, swapped in as one partition; on a month-partitioned table the day's differing
    keys are repaired instead), so re-running a day never duplicates. With --lookback N it also heals:
    the N days before --day are compared with Postgres and the ones that drifted are replaced too.

    Destructive: replaces the given days (and the drifted days of the lookback) in the sink, no other.
    What protects the data: one writer per table (the lock; --wait to queue behind another), a day is
    swapped in only after its staging matches Postgres (count + fingerprint), readers never see it empty
    or doubled, a day that would become empty or shrink below half of the sink's rows is refused (exit 3)
    unless --allow-shrink, and --max-heal-days caps what one run rewrites. Exit 0 when every day ended in
    sync, 1 when drifted days were left (cap, --dry-run), 3 when a guard refused a day, 4 on a failure.

    \b
    Example (the daily job, from cron; --sweep 7 proves a year of history every 53 nights or sooner):
      chsync sync --day "$(date -u -d yesterday +%F)" --lookback 14 --sweep 7 \
        --metrics-file /var/lib/node_exporter/chsync.prom
    """
    request = _sync_request(ctx, day, from_, to, lookback, only_drifted, max_heal_days, dry_run, wait,
                            allow_shrink, mode, workers, sweep, batch_rows)
    if not dry_run:
        ctx.writable()

    def one(source: PostgresSource, sink: ClickHouseSink) -> tuple[dict, int]:
        done = api.sync_on(source, sink, request)
        return dict(done.document), done.exit_code

    if ctx.many():
        return fan_out(ctx, as_json, "sync", one)
    doc, code = one(ctx.checked_source(), ctx.sink)
    ctx.results = [(ctx.spec, doc, code)]
    if as_json:
        emit(doc)
    if doc["refused"]:
        log.error(f"{len(doc['refused'])} day(s) refused by the shrink guard; the others were synced")
    elif doc.get("left"):
        log.error(f"{len(doc['left'])} drifted day(s) left unhealed "
                  f"({'dry run' if dry_run else '--max-heal-days'}): {', '.join(doc['left'][:10])}")
    return code


def _sync_request(ctx: Context, day: str | None, from_: str | None, to: str | None, lookback: int | None,
                  only_drifted: bool, max_heal: int | None, dry_run: bool, wait: float, allow_shrink: bool,
                  mode: str, workers: int | None, sweep: int = 0, batch_rows: int | None = None) -> api.SyncRequest:
    """The request in the options' own words: a mistake names the flag (api.sync_request then builds it)."""
    resolve_days(day, from_, to)
    if only_drifted and day:
        raise BadInput("--only-drifted goes with --from/--to (with --day, use --lookback N)")
    if lookback is not None and not day:
        raise BadInput("--lookback goes with --day (for a range, use --only-drifted)")
    if lookback is None and day:
        lookback = (ctx.spec.lookback_days if len(ctx.specs) == 1 else None) or 0
    if sweep and not day:
        raise BadInput("--sweep goes with --day D (and --lookback N): it adds the history's oldest-proven days")
    return api.sync_request(ctx.specs[0], day=day, first=from_, last=to, lookback=lookback,
                            only_drifted=only_drifted, sweep=sweep, max_heal_days=max_heal, dry_run=dry_run,
                            wait=wait, allow_shrink=allow_shrink, mode=mode, workers=workers, batch_rows=batch_rows)


def _plan_for(ctx: Context, source: PostgresSource, sink: ClickHouseSink, from_: str, to: str, strategy: str,
              mode: str) -> Plan:
    from ..apply.journal import Journal
    from ..plan.build import make_plan
    first, last = parse_range(from_, to)
    journal = Journal(sink)
    journal.ensure()
    return make_plan(source, sink, first, last, strategy, mode, rate_of=journal.rate)


def _print_plan(plan: dict) -> None:
    from ..report.markdown import duration, table
    customer = f" for {plan['customer']}" if plan["customer"] else ""
    click.echo(f"Plan: {plan['strategy']}{customer} {plan['from']} – {plan['to']} on {plan['sink_table']}")
    click.echo(f"Why: {plan['why']}")
    click.echo(f"Mode: {plan.get('mode', 'push')}: {plan.get('mode_why', 'requested')}")
    click.echo(f"Read window: {plan['read_window']}")
    for g in plan["global_steps"]:
        click.echo(f"Global step: {g['step']}: {'; '.join(g['sql'])}")
    rows = [[d["day"], d["action"], d["drift"]["source"], d["drift"]["sink_rows"], d["drift"]["duplicates"],
             d["drift"]["missing"], d["drift"]["stale"], d["drift"]["changed"], f"{d['expected_row_delta']:+,}",
             duration(d["eta_seconds"])] for d in plan["days"]]
    click.echo(table(["Day", "Action", "Postgres", "CH rows", "Dups", "Missing", "Stale", "Changed", "Δ rows", "ETA"],
                     rows))
    t = plan["totals"]
    click.echo(f"\n{t['days_to_change']} of {t['days']} days change, {t['rows_to_write']:,} rows to write, "
               f"row delta {t['expected_row_delta']:+,}, ETA {duration(t['eta_seconds'])} ({plan['eta_basis']})")
    first = next((d for d in plan["days"] if d["sql"]), None)
    if first:
        click.echo(f"\nSQL for {first['day']}:\n  " + "\n  ".join(first["sql"]))


@main.command()
@range_options
@click.option("--strategy", default="auto", show_default=True, type=click.Choice(STRATEGY_CHOICES),
              help="swap: stage + REPLACE PARTITION per day (per month on month partitions); repair: only "
                   "differing keys; bulk: seed option A; per-day: seed option B; auto: picks and says why.")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False), help="Save the plan as JSON.")
@mode_option("push")
@command
def plan(ctx: Context, as_json: bool, from_: str, to: str, strategy: str, out: str | None, mode: str) -> int:
    """What a backfill would do: per day the drift, the action, the exact SQL, the expected row delta and
    an ETA, plus the read window the strategy implies (how long readers may see missing rows).

    Read-only: nothing is executed; --out FILE only saves the plan for `backfill --plan FILE`.

    \b
    Example:
      chsync plan --from 2026-01-01 --to 2026-02-18 --strategy swap --out plan.json
    """
    first, last = parse_range(from_, to)
    doc = dict(api.plan(source=ctx.checked_source(), sink=ctx.sink, first=first, last=last, strategy=strategy,
                        mode=mode, out=out).document)
    emit(doc) if as_json else _print_plan(doc)
    return 0


def _confirm(plan: dict, yes: bool) -> None:
    if yes:
        return
    t = plan["totals"]
    question = (f"Backfill {t['days_to_change']} day(s) of {plan['sink_table']} with {plan['strategy']} "
                f"({t['rows_to_write']:,} rows; read window: {plan['read_window']})?")
    if not sys.stdin.isatty():
        raise Refused(f"{question} — not confirmed: pass --yes to run without a prompt")
    if not click.confirm(question, err=True):
        raise Refused("not confirmed: nothing was changed")


@main.command()
@click.option("--from", "from_", metavar="YYYY-MM-DD", help="First day (UTC).")
@click.option("--to", "to", metavar="YYYY-MM-DD", help="Last day (inclusive, UTC).")
@click.option("--strategy", default="auto", show_default=True, type=click.Choice(STRATEGY_CHOICES),
              help="See `chsync plan --help`.")
@click.option("--plan", "plan_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Apply a plan saved by `chsync plan --out` instead of planning now.")
@click.option("--resume", metavar="RUN|last", help="Continue a run where it stopped (a finished run: no-op).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-shrink", is_flag=True, help="Let a day become empty or shrink below half.")
@click.option("--take-over", is_flag=True, help="Take the lock of a run whose process is gone.")
@click.option("--barrier-timeout", default=600.0, show_default=True, help="Seconds to wait for mutations.")
@mode_option("push")
@workers_option
@batch_option
@metrics_options
@command
def backfill(ctx: Context, as_json: bool, from_: str | None, to: str | None, strategy: str, plan_file: str | None,
             resume: str | None, yes: bool, allow_shrink: bool, take_over: bool, barrier_timeout: float, mode: str,
             workers: int | None, batch_rows: int) -> int:
    """Repair the range in the sink with a plan (see `chsync plan`), then verify it.

    Destructive: deletes and rewrites the planned days in the sink (bulk and per-day leave them empty
    while they reload; swap never does). What protects the data: it shows the plan and asks unless
    --yes; journaled per day in the sink (planned → staged → verified → swapped → checked for swap) and
    resumable with --resume; locked (one writer per table); a day whose source read fails or shrinks
    below half is never touched; every day is checked against Postgres after it changed.

    \b
    Example:
      chsync backfill --from 2026-01-01 --to 2026-02-18 --strategy swap --yes
    """
    from ..apply.backfill import Backfill, run_and_verify
    from ..source.catalog import require

    def job(source: PostgresSource, sink: ClickHouseSink) -> Backfill:
        return Backfill(source, sink, allow_shrink=allow_shrink, barrier_timeout=barrier_timeout, workers=workers,
                        batch_rows=batch_rows)

    ctx.writable()
    if ctx.many():
        if resume or plan_file:
            raise BadInput("--resume and --plan belong to one table's and customer's run: use --table NAME and "
                           "--customer NAME with them")
        if not (from_ and to):
            raise BadInput("give --from D --to D for a many-customer backfill")
        if not yes:
            raise Refused("a many-customer backfill does not prompt: review each with `chsync --customer NAME "
                          "plan ...`, then pass --yes")
        parse_range(from_, to)

        def one(source: PostgresSource, sink: ClickHouseSink) -> tuple[dict, int]:
            source.check_customer()
            require(source, source.spec)
            result = run_and_verify(job(source, sink), _plan_for(ctx, source, sink, from_, to, strategy, mode))
            return result, 0 if result["verify"]["in_sync"] else EXIT_CHECKS_FAILED
        return fan_out(ctx, as_json, "backfill", one)

    if not (resume or plan_file or (from_ and to)):
        raise BadInput("give --from D --to D, --plan FILE or --resume RUN|last")
    first, last = parse_range(from_, to) if from_ and to and not (resume or plan_file) else (None, None)
    done = api.backfill(source=ctx.checked_source(), sink=ctx.sink, first=first, last=last, strategy=strategy,
                        plan=plan_file or None, resume=resume or None, allow_shrink=allow_shrink,
                        take_over=take_over, barrier_timeout=barrier_timeout, mode=mode, workers=workers,
                        batch_rows=batch_rows, confirm=lambda the_plan: _confirm(the_plan.to_json(), yes))
    result = dict(done.document)
    in_sync = done.in_sync
    ctx.results = [(ctx.spec, result, done.exit_code)]
    if as_json:
        emit(result)
    else:
        from ..report.markdown import timeline_table
        click.echo(f"run {result['run']}: {result['state']}, {result['rows_written']:,} rows written")
        click.echo(timeline_table(result["timeline"]))
        click.echo("verify: in sync" if in_sync else
                   f"verify: NOT in sync: {', '.join(result['verify']['days_out_of_sync'])}")
    return done.exit_code


@main.command()
@command
def runs(ctx: Context, as_json: bool) -> int:
    """Backfill runs of the table in the journal, newest first: state, range, strategy, days done.

    Read-only for your data (it creates chsync's empty journal tables in the sink when missing).

    \b
    Example:
      chsync runs --json
    """
    from ..apply.journal import Journal
    journal = Journal(ctx.sink)
    journal.ensure()
    listed = journal.runs("backfill")
    if as_json:
        emit(tagged("runs", {"runs": listed}))
    else:
        from ..report.markdown import table
        click.echo(table(["Run", "State", "From", "To", "Strategy", "Days done", "Started"],
                         [[r["run"], r["state"], r["from"], r["to"], r["strategy"], r["days_done"], r["started"]]
                          for r in listed]) if listed else "no backfill runs yet")
    return 0
