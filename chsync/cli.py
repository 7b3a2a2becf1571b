"""Command line: parses, calls the library, prints. Exit codes per DESIGN §7."""

from __future__ import annotations

import contextlib
import functools
import json
import sys

import click

from . import log
from .dates import day_range, parse_day, resolve_days
from .errors import EXIT_CHECKS_FAILED, EXIT_REFUSED, ChsyncError
from .spec import load_spec, validate


class Context:
    """Global options; source and sink are opened on first use and closed at the end."""

    def __init__(self, source: str | None, sink: str | None, customer: str | None, config: str | None,
                 all_customers: bool = False):
        names = [c.strip() for c in customer.split(",") if c.strip()] if customer else []
        self.customer = names[0] if len(names) == 1 else None
        self.customer_list = names if len(names) > 1 else None
        self.all_customers = all_customers
        self.source_dsn, self.sink_url, self.config = source, sink, config
        self._spec = self._source = self._sink = None

    def customers(self) -> list[str] | None:
        """The customers of a many-customer run (--customer a,b or --all-customers), else None."""
        if self.all_customers:
            from .errors import BadInput
            if self.customer or self.customer_list:
                raise BadInput("give either --customer or --all-customers, not both")
            return self.source.customers()
        if self.customer_list:
            return self.customer_list
        return None

    @property
    def spec(self):
        if self._spec is None:
            spec = load_spec(self.config)
            self._spec = validate(spec.with_customer(self.customer)) if self.customer else validate(spec)
        return self._spec

    @property
    def source(self):
        if self._source is None:
            from .source import open_source
            self._source = open_source(self.source_dsn, self.spec)
        return self._source

    @property
    def sink(self):
        if self._sink is None:
            from .sink import open_sink
            self._sink = open_sink(self.sink_url, self.spec)
        return self._sink

    def close(self):
        for thing in (self._source, self._sink):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()


def per_customer(ctx: Context, as_json: bool, what: str, job) -> int:
    """Run job(source, sink) -> (doc, exit code) for each customer; print one summary table."""
    from .apply.customers import run_customers, worst_exit_code
    outcomes = run_customers(ctx.spec, ctx.source_dsn, ctx.sink_url, ctx.customers(), job)
    rows = [o.row() for o in outcomes]
    if as_json:
        emit({"command": what, "customers": rows, "results": {o.customer: o.doc for o in outcomes}})
    else:
        from .report.markdown import duration, table
        click.echo(table(["Customer", "Database", "Status", "Days", "Rows written", "Time", "Detail"],
                         [[r["customer"], r["database"], r["status"], r["days"], r["rows_written"],
                           duration(r["seconds"]), r["detail"]] for r in rows]))
    return worst_exit_code(outcomes)


def emit(doc: dict) -> None:
    click.echo(json.dumps(doc, indent=2, default=str))


def command(fn):
    """Adds --json, sets quiet mode for it, and turns ChsyncError into one line + exit code."""
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout; logs go to stderr.")
    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(ctx: Context, as_json: bool, **kwargs):
        log.set_quiet(as_json or log.is_quiet())
        try:
            code = fn(ctx, as_json=as_json, **kwargs)
        except ChsyncError as e:
            log.error(str(e))
            code = e.exit_code
        except KeyboardInterrupt:
            log.error("interrupted")
            code = 130
        finally:
            ctx.close()
        sys.exit(code or 0)
    return wrapper


def range_options(fn):
    fn = click.option("--to", "to", metavar="YYYY-MM-DD", required=True, help="Last day (inclusive, UTC).")(fn)
    return click.option("--from", "from_", metavar="YYYY-MM-DD", required=True, help="First day (UTC).")(fn)


def workers_option(fn):
    return click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 16),
                        help="Days processed at once (swap only: mutation strategies run one day at a time, "
                             "so the sink's mutation queue never grows). Each worker has its own connections.")(fn)


def mode_option(default: str):
    return click.option(
        "--mode", type=click.Choice(["push", "pull", "auto"]), default=default, show_default=True,
        help="push: chsync reads Postgres and writes the rows. pull: the sink reads Postgres itself through "
             "postgresql() (ClickHouse 21.3+, chDB) and joins and hashes there. auto: pull where the sink "
             "can reach Postgres (embedded), push otherwise. For diff and scope on a server sink, pull "
             "copies the server's rows over HTTP (http_port= in the sink URL) into an in-process chDB, "
             "which reads Postgres and compares; auto does so whenever chDB is installed.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--source", envvar="CHSYNC_SOURCE", metavar="DSN",
              help="Postgres DSN, postgresql://user[:pw]@host:port/db (env CHSYNC_SOURCE).")
@click.option("--sink", envvar="CHSYNC_SINK", metavar="URL",
              help="chdb:///dir (embedded) or clickhouse://user[:pw]@host:9000/db?cluster=NAME[&http_port=8123] "
                   "(env CHSYNC_SINK).")
@click.option("--customer", metavar="NAME[,NAME…]",
              help="Customer id (default alaska-air, or the config's); several, comma-separated, run one after "
                   "another, each in its own sink database (init, sync, backfill, verify).")
@click.option("--all-customers", is_flag=True, help="Every customer in the source's customers table.")
@click.option("--config", metavar="FILE", type=click.Path(dir_okay=False), help="TOML spec overriding defaults.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.version_option(package_name="chsync")
@click.pass_context
def main(click_ctx, source, sink, customer, config, quiet, all_customers):
    """chsync keeps a ClickHouse copy of Postgres conversations in sync: it measures the drift (scope),
    repairs it day by day without readers ever seeing an empty or doubled day (sync), and proves the
    result (verify).

    \b
    Every command's help says how safe it is, in these words:
      Read-only    changes nothing in Postgres or ClickHouse
                   (report files only where asked);
      Writes       creates or adds, never removes or replaces data;
      Destructive  replaces or removes data; says what protects it.
    Exit codes: 0 ok, 1 checks failed, 2 bad input, 3 refused by a guard,
    4 failed at run time.

    \b
    Example (everything on one machine, nothing else touched):
      chsync demo --scale 0.1
    """
    log.set_quiet(quiet)
    click_ctx.obj = Context(source, sink, customer, config, all_customers)


@main.command()
@click.option("--scale", default=None, type=float, help="Data size; 1.0 ≈ the seed (1.51M conversations). "
              "Default: 1.0, the seed's full size (about two minutes here).")
@click.option("--workdir", default="chsync-demo", show_default=True, type=click.Path(file_okay=False),
              help="Where the throwaway Postgres, the chDB data and the reports go.")
@click.option("--seed", default=1, show_default=True, help="Random seed of the generated data.")
@command
def demo(ctx: Context, as_json: bool, scale, workdir, seed):
    """The seed's story on this machine: start Postgres + chDB, generate seed-shaped drifted data, scope,
    sync every day, verify, and write WORKDIR/report.html, report.md (charts in WORKDIR/charts/) and
    report.json.

    Writes only inside WORKDIR: its own Postgres and chDB live there (`chsync embedded down` stops the
    Postgres); --source and --sink are ignored, so no other database is touched.

    \b
    Example:
      chsync demo --scale 0.1 --workdir /tmp/chsync-demo
    """
    from .demo.story import run_demo
    doc = run_demo(workdir, scale=scale, seed=seed, customer=ctx.customer or "alaska-air")
    if as_json:
        emit(doc)
    else:
        click.echo(f"report: {doc['report']} and {doc['report_html']}")
    return 0 if doc["after"]["in_sync"] else EXIT_CHECKS_FAILED


@main.command()
@click.option("--scale", default=0.05, show_default=True, type=float, help="1.0 ≈ the seed (1.51M conversations).")
@click.option("--seed", default=1, show_default=True, help="Random seed of the generated data.")
@click.option("--truth", metavar="FILE", type=click.Path(dir_okay=False), help="Write the ground truth JSON here.")
@command
def generate(ctx: Context, as_json: bool, scale, seed, truth):
    """Seed-shaped drifted data for trying chsync: (re)creates the source tables in --source and fills the
    sink table in --sink (stale rows, stale labels, duplicates).

    Destructive: drops and recreates the source tables and empties the sink table. What protects the
    data: it refuses (exit 3) a source whose conversations table it did not create itself; the sink
    table is emptied without asking, so point --sink only at a throwaway sink (e.g. `chsync embedded up`).

    \b
    Example:
      eval "$(chsync embedded up)" && chsync generate --scale 0.05
    """
    from .demo.generate import generate as run
    ctx.source.close()  # only checks the DSN; the generator opens its own connection
    doc = run(ctx.source_dsn, ctx.sink, scale=scale, seed=seed, customer=ctx.spec.customer,
              progress=lambda m: log.info(m), truth_path=truth)
    emit(doc) if as_json else click.echo(f"generated: {doc['totals']['source']:,} conversations in the source, "
                                         f"{doc['totals']['sink_rows']:,} rows in the sink")


@main.group()
def embedded():
    """A throwaway Postgres and chDB directory for trying chsync (up / down / status).

    Writes only inside WORKDIR (the Postgres data directory, the chDB directory, a state file).

    \b
    Example:
      eval "$(chsync embedded up --workdir /tmp/try)"
    """


def _workdir_option(fn):
    return click.option("--workdir", default="chsync-demo", show_default=True,
                        type=click.Path(file_okay=False), help="Directory of the embedded instance.")(fn)


@embedded.command("up")
@_workdir_option
@command
def embedded_up(ctx: Context, as_json: bool, workdir):
    """Start (or reuse) Postgres and prepare the chDB dir; prints the --source and --sink to use as
    `export` lines.

    Writes only inside WORKDIR: creates it and starts a Postgres there (a running one is reused).

    \b
    Example:
      eval "$(chsync embedded up --workdir /tmp/try)"
    """
    from . import embedded as emb
    urls = emb.up(workdir)
    if as_json:
        emit(urls)
    else:
        click.echo(f"export CHSYNC_SOURCE={urls['source']}\nexport CHSYNC_SINK={urls['sink']}")


@embedded.command("down")
@_workdir_option
@command
def embedded_down(ctx: Context, as_json: bool, workdir):
    """Stop the Postgres that `up` started in WORKDIR (nothing else).

    Writes: stops only the Postgres process recorded in WORKDIR; no data is removed (it stays in
    WORKDIR).

    \b
    Example:
      chsync embedded down --workdir /tmp/try
    """
    from . import embedded as emb
    doc = emb.down(workdir)
    emit(doc) if as_json else click.echo("stopped" if doc["stopped"] else doc["reason"])


@embedded.command("status")
@_workdir_option
@command
def embedded_status(ctx: Context, as_json: bool, workdir):
    """Is the embedded Postgres of WORKDIR running? Prints its --source when it is.

    Read-only.

    \b
    Example:
      chsync embedded status --workdir /tmp/try --json
    """
    from . import embedded as emb
    doc = emb.status(workdir)
    emit(doc) if as_json else click.echo(("running: " + doc["source"]) if doc["running"] else "not running")


@main.command()
@command
def init(ctx: Context, as_json: bool):
    """Create the sink database, the table and (on a cluster) the Distributed table when missing,
    ON CLUSTER when --sink names a cluster.

    Writes: CREATE ... IF NOT EXISTS only; an existing table is used as it is, never dropped or altered.

    \b
    Example:
      chsync --sink 'clickhouse://chsync@host:9000/alaska_air_us_east_1?cluster=replicated' init
    """
    if ctx.customers():
        return per_customer(ctx, as_json, "init", lambda source, sink: ({"table": sink.table,
                                                                         "statements": sink.init()}, 0))
    statements = ctx.sink.init()
    if as_json:
        emit({"table": ctx.sink.table, "statements": statements})
    else:
        click.echo(f"ready: {ctx.sink.table}")


@main.command()
@click.option("--day", metavar="YYYY-MM-DD", help="One day (UTC).")
@click.option("--from", "from_", metavar="YYYY-MM-DD", help="First day of a range.")
@click.option("--to", "to", metavar="YYYY-MM-DD", help="Last day of a range (inclusive).")
@click.option("--allow-shrink", is_flag=True,
              help="Let a day become empty or shrink below half of what the sink holds.")
@mode_option("push")
@workers_option
@command
def sync(ctx: Context, as_json: bool, day, from_, to, allow_shrink, mode, workers):
    """The daily job, idempotent: each day's source set REPLACES that day in the sink (staged, checked
    against the source, swapped in as one partition), so re-running a day never duplicates.

    Destructive: replaces the given days in the sink (no other day). What protects the data: a day is
    swapped in only after its staging matches Postgres (count + fingerprint), readers never see it empty
    or doubled, and a day that would become empty or shrink below half of the sink's rows is refused
    (exit 3) unless --allow-shrink.

    \b
    Example:
      chsync sync --day 2026-02-18
    """
    from .apply.sync import run_sync
    days = resolve_days(day, from_, to)
    if ctx.customers():
        def one(source, sink):
            done = run_sync(source, sink, days, allow_shrink=allow_shrink, mode=mode, workers=workers)
            return done.as_dict(), EXIT_REFUSED if done.refused else 0
        return per_customer(ctx, as_json, "sync", one)
    result = run_sync(ctx.source, ctx.sink, days, allow_shrink=allow_shrink, mode=mode, workers=workers)
    if as_json:
        emit(result.as_dict())
    if result.refused:
        log.error(f"{len(result.refused)} day(s) refused by the shrink guard; the others were synced")
        return EXIT_REFUSED
    return 0


def _range(from_, to):
    first, last = parse_day(from_, "--from"), parse_day(to, "--to")
    day_range(first, last)
    return first, last


@main.command()
@range_options
@click.option("--out", metavar="DIR", type=click.Path(file_okay=False),
              help="Also write scope.md (+ charts/*.svg), scope.html and scope.json into DIR.")
@click.option("--samples", default=0, show_default=True, help="Sample ids per class to include.")
@mode_option("auto")
@command
def scope(ctx: Context, as_json: bool, from_, to, out, samples, mode):
    """Analysis of the range: totals, distinct, duplicates, missing/stale/changed per day and per usecase,
    stale reasons and changed columns, laid out like the seed's report. --out DIR also writes scope.md
    (charts as SVG files in DIR/charts/), scope.html (one self-contained page) and scope.json.

    Read-only: nothing in Postgres or ClickHouse changes; files are written only into --out DIR.

    \b
    Example:
      chsync scope --from 2026-01-01 --to 2026-02-18 --out report/
    """
    from .report.markdown import scope_markdown
    from .scope import build_scope
    first, last = _range(from_, to)
    doc = build_scope(ctx.source, ctx.sink, first, last, samples=samples, mode=mode)
    md = scope_markdown(doc)
    if out:
        from .report.files import write_scope_report
        write_scope_report(out, doc)
    emit(doc) if as_json else click.echo(md)
    return 0


@main.command()
@range_options
@click.option("--limit", default=10, show_default=True, help="Sample ids per class.")
@mode_option("auto")
@command
def diff(ctx: Context, as_json: bool, from_, to, limit, mode):
    """Row-level differences, classified: missing, stale (with the reason: deleted, ended_at_reset,
    day_moved, dev_user, source_type_changed, no_agent_assistance, customer_changed), changed (with the
    columns), duplicates. Only days whose fingerprints differ are drilled into. Exit 1 when any differ.

    Read-only.

    \b
    Example:
      chsync diff --from 2026-01-20 --to 2026-01-20 --limit 5
    """
    from .diff import diff_with_mode
    first, last = _range(from_, to)
    ctx.source.check_customer()
    ctx.sink.require_table()
    result, mode, why = diff_with_mode(ctx.source, ctx.sink, first, last, mode)
    log.info(f"mode {mode}: {why}")
    doc = result.as_doc(ctx.spec.customer, limit) | {"mode": {"mode": mode, "why": why}}
    if as_json:
        emit(doc)
    else:
        _print_diff(doc)
    return 0 if doc["in_sync"] else EXIT_CHECKS_FAILED


def _print_diff(doc: dict) -> None:
    from .report.markdown import table
    if doc["in_sync"]:
        click.echo(f"no differences {doc['from']} – {doc['to']}")
        return
    click.echo(table(["Day", "Missing", "Stale", "Changed", "Duplicates"],
                     [[d["day"], d["missing"], d["stale"], d["changed"], d["duplicates"]] for d in doc["days"]]))
    click.echo("\nStale reasons: " + ", ".join(f"{k} {v:,}" for k, v in doc["stale_reasons"].items() if v))
    click.echo("Changed columns: " + (", ".join(f"{k} {v:,}" for k, v in doc["changed_columns"].items()) or "-"))
    s = doc["samples"]
    for kind in ("missing", "duplicates"):
        if s[kind]:
            click.echo(f"{kind}: " + ", ".join(s[kind]))
    for item in s["stale"]:
        click.echo(f"stale {item['id']}: {item['reason']}")
    for item in s["changed"]:
        click.echo(f"changed {item['id']}: {', '.join(item['columns'])}")


@main.command()
@range_options
@mode_option("push")
@command
def verify(ctx: Context, as_json: bool, from_, to, mode):
    """Proof that the sink equals the source for the range: per day, counts and row fingerprints agree,
    no duplicates. Exit 0 only when every day is in sync, 1 otherwise. The default --mode push has
    Postgres hash its own rows, so the proof does not depend on how the rows got there.

    Read-only.

    \b
    Example:
      chsync verify --from 2026-01-01 --to 2026-02-18
    """
    from .scope import build_scope
    first, last = _range(from_, to)
    if ctx.customers():
        def one(source, sink):
            doc = build_scope(source, sink, first, last, mode=mode)
            return doc, 0 if doc["in_sync"] else EXIT_CHECKS_FAILED
        return per_customer(ctx, as_json, "verify", one)
    doc = build_scope(ctx.source, ctx.sink, first, last, mode=mode)
    bad = [d for d in doc["days"] if not d["in_sync"]]
    if as_json:
        emit(doc)
    elif bad:
        for d in bad:
            click.echo(f"{d['day']}: NOT in sync — source {d['source']:,}, sink {d['sink_rows']:,} rows / "
                       f"{d['sink_distinct']:,} distinct; missing {d['missing']:,}, stale {d['stale']:,}, "
                       f"changed {d['changed']:,}, duplicates {d['duplicates']:,}")
    else:
        click.echo(f"in sync: {len(doc['days'])} day(s), {doc['source']['conversations']:,} conversations")
    if bad:
        log.error(f"{len(bad)} of {len(doc['days'])} day(s) out of sync: "
                  f"{', '.join(d['day'] for d in bad[:10])}{' ...' if len(bad) > 10 else ''}")
        return EXIT_CHECKS_FAILED
    return 0


def _plan_for(ctx: Context, from_, to, strategy: str, mode: str) -> dict:
    from .plan import make_plan
    first, last = _range(from_, to)
    return make_plan(ctx.source, ctx.sink, first, last, strategy, mode)


def _print_plan(plan: dict) -> None:
    from .report.markdown import duration, table
    click.echo(f"Plan: {plan['strategy']} for {plan['customer']} {plan['from']} – {plan['to']} on {plan['sink_table']}")
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
@click.option("--strategy", default="auto", show_default=True,
              type=click.Choice(["auto", "swap", "repair", "bulk", "per-day"]),
              help="swap: stage + REPLACE PARTITION per day; repair: only differing keys; bulk: seed option A; "
                   "per-day: seed option B; auto: picks and says why.")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False), help="Save the plan as JSON.")
@mode_option("push")
@command
def plan(ctx: Context, as_json: bool, from_, to, strategy, out, mode):
    """What a backfill would do: per day the drift, the action, the exact SQL, the expected row delta and
    an ETA, plus the read window the strategy implies (how long readers may see missing rows).

    Read-only: nothing is executed; --out FILE only saves the plan for `backfill --plan FILE`.

    \b
    Example:
      chsync plan --from 2026-01-01 --to 2026-02-18 --strategy swap --out plan.json
    """
    from .plan import save_plan
    the_plan = _plan_for(ctx, from_, to, strategy, mode)
    if out:
        save_plan(the_plan, out)
    emit(the_plan) if as_json else _print_plan(the_plan)
    return 0


def _confirm(plan: dict, yes: bool) -> None:
    from .errors import Refused
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
@click.option("--strategy", default="auto", show_default=True,
              type=click.Choice(["auto", "swap", "repair", "bulk", "per-day"]), help="See `chsync plan --help`.")
@click.option("--plan", "plan_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Apply a plan saved by `chsync plan --out` instead of planning now.")
@click.option("--resume", metavar="RUN|last", help="Continue a run where it stopped (a finished run: no-op).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-shrink", is_flag=True, help="Let a day become empty or shrink below half.")
@click.option("--take-over", is_flag=True, help="Take the lock of a run whose process is gone.")
@click.option("--barrier-timeout", default=600.0, show_default=True, help="Seconds to wait for mutations.")
@mode_option("push")
@workers_option
@command
def backfill(ctx: Context, as_json: bool, from_, to, strategy, plan_file, resume, yes, allow_shrink, take_over,
             barrier_timeout, mode, workers):
    """Repair the range in the sink with a plan (see `chsync plan`), then verify it.

    Destructive: deletes and rewrites the planned days in the sink (bulk and per-day leave them empty
    while they reload; swap never does). What protects the data: it shows the plan and asks unless
    --yes; journaled per day in the sink (planned → staged → verified → swapped → checked for swap) and
    resumable with --resume; locked (one backfill per table); a day whose source read fails or shrinks
    below half is never touched; every day is checked against Postgres after it changed.

    \b
    Example:
      chsync backfill --from 2026-01-01 --to 2026-02-18 --strategy swap --yes
    """
    from .apply.backfill import Backfill, run_and_verify
    from .errors import BadInput, Refused
    from .plan import load_plan, make_plan

    def job(source, sink) -> Backfill:
        return Backfill(source, sink, allow_shrink=allow_shrink, barrier_timeout=barrier_timeout, workers=workers)

    if ctx.customers():
        if resume or plan_file:
            raise BadInput("--resume and --plan belong to one customer's run: use --customer NAME with them")
        if not (from_ and to):
            raise BadInput("give --from D --to D for a many-customer backfill")
        if not yes:
            raise Refused("a many-customer backfill does not prompt: review each with `chsync --customer NAME "
                          "plan ...`, then pass --yes")
        first, last = _range(from_, to)

        def one(source, sink):
            result = run_and_verify(job(source, sink), make_plan(source, sink, first, last, strategy, mode))
            return result, 0 if result["verify"]["in_sync"] else EXIT_CHECKS_FAILED
        return per_customer(ctx, as_json, "backfill", one)

    if resume:
        ctx.source.check_customer()
        result = run_and_verify(job(ctx.source, ctx.sink), resume=resume, take_over=take_over)
    else:
        if plan_file:
            the_plan = load_plan(plan_file)
        elif from_ and to:
            the_plan = _plan_for(ctx, from_, to, strategy, mode)
        else:
            raise BadInput("give --from D --to D, --plan FILE or --resume RUN|last")
        log.info(f"strategy {the_plan['strategy']}: {the_plan['why']}; read window: {the_plan['read_window']}")
        log.info(f"mode {the_plan.get('mode', 'push')}: {the_plan.get('mode_why', 'requested')}")
        _confirm(the_plan, yes)
        result = run_and_verify(job(ctx.source, ctx.sink), the_plan, take_over=take_over)
    in_sync = result["verify"]["in_sync"]
    if as_json:
        emit(result)
    else:
        from .report.markdown import timeline_table
        click.echo(f"run {result['run']}: {result['state']}, {result['rows_written']:,} rows written")
        click.echo(timeline_table(result["timeline"]))
        click.echo("verify: in sync" if in_sync else
                   f"verify: NOT in sync: {', '.join(result['verify']['days_out_of_sync'])}")
    return 0 if in_sync else EXIT_CHECKS_FAILED


@main.command()
@command
def runs(ctx: Context, as_json: bool):
    """Backfill runs in the journal, newest first: state, range, strategy, days done.

    Read-only for your data (it creates chsync's empty journal tables in the sink when missing).

    \b
    Example:
      chsync runs --json
    """
    from .sink.journal import Journal
    journal = Journal(ctx.sink)
    journal.ensure()
    listed = journal.runs()
    if as_json:
        emit(listed)
    else:
        from .report.markdown import table
        click.echo(table(["Run", "State", "From", "To", "Strategy", "Days done", "Started"],
                         [[r["run"], r["state"], r["from"], r["to"], r["strategy"], r["days_done"], r["started"]]
                          for r in listed]) if listed else "no backfill runs yet")
    return 0
