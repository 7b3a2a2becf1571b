"""Command line: parses, calls the library, prints. Exit codes per DESIGN §7."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys

import click

from . import log
from .dates import day_range, parse_day, resolve_days
from .errors import EXIT_CHECKS_FAILED, EXIT_REFUSED, ChsyncError
from .spec import load_spec, validate


class Context:
    """Global options; source and sink are opened on first use and closed at the end."""

    def __init__(self, source: str | None, sink: str | None, customer: str | None, config: str | None):
        self.source_dsn, self.sink_url, self.customer, self.config = source, sink, customer, config
        self._spec = self._source = self._sink = None

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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--source", envvar="CHSYNC_SOURCE", metavar="DSN",
              help="Postgres DSN, postgresql://user[:pw]@host:port/db (env CHSYNC_SOURCE).")
@click.option("--sink", envvar="CHSYNC_SINK", metavar="URL",
              help="chdb:///dir (embedded) or clickhouse://user[:pw]@host:9000/db?cluster=NAME (env CHSYNC_SINK).")
@click.option("--customer", metavar="NAME", help="Customer id (default alaska-air, or the config's).")
@click.option("--config", metavar="FILE", type=click.Path(dir_okay=False), help="TOML spec overriding defaults.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.version_option(package_name="chsync")
@click.pass_context
def main(click_ctx, source, sink, customer, config, quiet):
    """chsync keeps a ClickHouse copy of Postgres conversations in sync: it measures the drift (scope),
    repairs it day by day without readers ever seeing an empty or doubled day (sync), and proves the
    result (verify).

    \b
    Try it on one machine:  chsync demo
    Exit codes: 0 ok, 1 checks failed, 2 bad input, 3 refused by a guard, 4 failed at run time.
    """
    log.set_quiet(quiet)
    click_ctx.obj = Context(source, sink, customer, config)


@main.command()
@click.option("--scale", default=None, type=float, help="Data size; 1.0 ≈ the seed (1.51M conversations). "
              "Default: 0.25 (about two minutes here).")
@click.option("--workdir", default="chsync-demo", show_default=True, type=click.Path(file_okay=False),
              help="Where the throwaway Postgres, the chDB data and report.md go.")
@click.option("--seed", default=1, show_default=True, help="Random seed of the generated data.")
@command
def demo(ctx: Context, as_json: bool, scale, workdir, seed):
    """The seed's story on this machine: start Postgres + chDB, generate seed-shaped drifted data, scope,
    sync every day, verify, scope again, and write WORKDIR/report.md.

    Writes only inside WORKDIR (and a Postgres data dir it owns). Example: chsync demo --scale 0.05
    """
    from .demo.story import run_demo
    doc = run_demo(workdir, scale=scale, seed=seed, customer=ctx.customer or "alaska-air")
    if as_json:
        emit(doc)
    else:
        click.echo(f"report: {doc['report']}")
    return 0 if doc["after"]["in_sync"] else EXIT_CHECKS_FAILED


@main.group()
def embedded():
    """A throwaway Postgres and chDB directory for trying chsync (up / down / status)."""


def _workdir_option(fn):
    return click.option("--workdir", default="chsync-demo", show_default=True,
                        type=click.Path(file_okay=False), help="Directory of the embedded instance.")(fn)


@embedded.command("up")
@_workdir_option
@command
def embedded_up(ctx: Context, as_json: bool, workdir):
    """Start (or reuse) Postgres and prepare the chDB dir; prints the --source and --sink to use.

    Example: eval "$(chsync embedded up --json | jq -r '"export CHSYNC_SOURCE=\\(.source) CHSYNC_SINK=\\(.sink)"')"
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
    """Stop the Postgres that `up` started in WORKDIR (nothing else). Example: chsync embedded down"""
    from . import embedded as emb
    doc = emb.down(workdir)
    emit(doc) if as_json else click.echo("stopped" if doc["stopped"] else doc["reason"])


@embedded.command("status")
@_workdir_option
@command
def embedded_status(ctx: Context, as_json: bool, workdir):
    """Is the embedded Postgres of WORKDIR running? Example: chsync embedded status --json"""
    from . import embedded as emb
    doc = emb.status(workdir)
    emit(doc) if as_json else click.echo(("running: " + doc["source"]) if doc["running"] else "not running")


@main.command()
@command
def init(ctx: Context, as_json: bool):
    """Create the sink database and table when missing (never drops anything). Example: chsync init"""
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
@command
def sync(ctx: Context, as_json: bool, day, from_, to, allow_shrink):
    """The daily job, idempotent: each day's source set REPLACES that day in the sink (staged, checked
    against the source, swapped in as one partition), so re-running a day never duplicates.

    Destructive for the given days only. Refuses (exit 3) a day that would become empty or shrink below
    half of the sink's rows unless --allow-shrink. Example: chsync sync --day 2026-02-18
    """
    from .apply.sync import run_sync
    days = resolve_days(day, from_, to)
    result = run_sync(ctx.source, ctx.sink, days, allow_shrink=allow_shrink)
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
@click.option("--out", metavar="DIR", type=click.Path(file_okay=False), help="Also write scope.md and scope.json.")
@click.option("--samples", default=0, show_default=True, help="Sample ids per class to include.")
@command
def scope(ctx: Context, as_json: bool, from_, to, out, samples):
    """Analysis of the range (read-only): totals, distinct, duplicates, missing/stale/changed per day and per
    usecase, laid out like the seed's report. Stale reasons and changed columns stay 0 until the
    row-level diff fills them. Example: chsync scope --from 2026-01-01 --to 2026-02-18 --out report/
    """
    from .report.markdown import scope_markdown
    from .scope import build_scope
    first, last = _range(from_, to)
    doc = build_scope(ctx.source, ctx.sink, first, last, samples=samples)
    md = scope_markdown(doc)
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "scope.md"), "w") as f:
            f.write(md)
        with open(os.path.join(out, "scope.json"), "w") as f:
            json.dump(doc, f, indent=2)
    emit(doc) if as_json else click.echo(md)
    return 0


@main.command()
@range_options
@command
def verify(ctx: Context, as_json: bool, from_, to):
    """Proof that the sink equals the source for the range (read-only): per day, counts and row
    fingerprints agree, no duplicates. Exit 0 only when every day is in sync, 1 otherwise.
    Example: chsync verify --from 2026-01-01 --to 2026-02-18
    """
    from .scope import build_scope
    first, last = _range(from_, to)
    doc = build_scope(ctx.source, ctx.sink, first, last)
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
