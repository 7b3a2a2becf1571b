"""Commands that set things up: demo, generate, embedded up/down/status, init."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import click

from .. import log
from ..errors import EXIT_CHECKS_FAILED, BadInput
from ..schemas import tagged
from .context import Context
from .main import F, command, config_option, emit, fan_out, main

if TYPE_CHECKING:
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource


@main.command()
@click.option("--scale", default=None, type=float, help="Data size; 1.0 ≈ the seed (1.51M conversations). "
              "Default: 1.0, the seed's full size (about a minute here, and act 2 about another); with --config "
              "another table, 0.2 (28,000 rows).")
@click.option("--workdir", default="chsync-demo", show_default=True, type=click.Path(file_okay=False),
              help="Where the throwaway Postgres, the chDB data and the reports go.")
@click.option("--seed", default=1, show_default=True, help="Random seed of the generated data.")
@config_option
@command
def demo(ctx: Context, as_json: bool, scale: float | None, workdir: str, seed: int) -> int:
    """The seed's story on this machine: start Postgres + chDB, generate seed-shaped drifted data, scope,
    sync every day, verify; then act 2, a week of the daily job (each day new rows arrive and Postgres
    changes rows of earlier days; `sync --day D --lookback 7` heals exactly the days that changed), and a
    verify of the whole range. Writes WORKDIR/report.html, report.md (charts in WORKDIR/charts/) and
    report.json. With --config FILE, the same story (without act 2) on generated data of that spec's table
    (its filter must be simple comparisons, as for `chsync generate`): report.md and report.json, and the
    scope reports before and after in WORKDIR/before/ and WORKDIR/after/.

    Writes only inside WORKDIR: its own Postgres and chDB live there; --source and --sink are ignored, so
    no other database is touched. The Postgres keeps running after the demo, to explore: the last lines
    say how to reach it and how to stop it (`chsync embedded down --workdir WORKDIR`).

    \b
    Examples:
      chsync demo --scale 0.1 --workdir /tmp/chsync-demo
      chsync demo --config examples/shop_orders.toml --workdir /tmp/shop-demo
    """
    from ..demo.any_table import is_seed
    from ..demo.story import still_running_lines
    if ctx.config and not is_seed(ctx.spec):
        from ..demo.story import run_table_demo
        doc = run_table_demo(workdir, ctx.spec, ctx.config, scale=scale, seed=seed)
        if not as_json:
            click.echo(f"report: {doc['report']}")
        ok = doc["after"]["in_sync"]
    else:
        from ..demo.daily import summary_lines
        from ..demo.story import run_demo
        doc = run_demo(workdir, scale=scale, seed=seed, customer=ctx.customer or "alaska-air")
        if not as_json:
            click.echo("\n".join(summary_lines(doc["act2"])))
            click.echo(f"report: {doc['report']} and {doc['report_html']}")
        ok = doc["after"]["in_sync"] and doc["act2"]["verify"]["in_sync"] and doc["act2"]["as_expected"]
    if as_json:
        emit(doc)
    else:
        click.echo("\n" + "\n".join(still_running_lines(doc["embedded"])))
    return 0 if ok else EXIT_CHECKS_FAILED


@main.command()
@click.option("--scale", default=0.05, show_default=True, type=float,
              help="1.0 ≈ the seed (1.51M conversations); for another spec, 10,000 rows a day over 14 days.")
@click.option("--seed", default=1, show_default=True, help="Random seed of the generated data.")
@click.option("--truth", metavar="FILE", type=click.Path(dir_okay=False), help="Write the ground truth JSON here.")
@config_option
@command
def generate(ctx: Context, as_json: bool, scale: float, seed: int, truth: str | None) -> None:
    """Drifted data for trying chsync: (re)creates the source tables in --source and fills the sink table
    in --sink (stale rows, changed rows, duplicates, missing rows). Seed-shaped for the shipped spec; for
    another --config spec, 14 days of its own table (its filter must be simple comparisons: col =
    literal, col <> literal, col IN :list, col IS [NOT] NULL, boolean columns, joined with AND).

    Destructive: drops and recreates the source tables and empties the sink table. What protects the
    data: it refuses (exit 3) a source whose tables it did not create itself; the sink table is emptied
    without asking, so point --sink only at a throwaway sink (e.g. `chsync embedded up`).

    \b
    Examples:
      eval "$(chsync embedded up)" && chsync generate --scale 0.05
      chsync generate --config examples/shop_orders.toml --truth truth.json
    """
    from ..demo.any_table import is_seed
    from ..source import open_source
    spec = ctx.spec
    if is_seed(spec):
        from ..demo.generate import generate as run
        dsn = _source_dsn(ctx)
        open_source(dsn, spec)  # checks the DSN; the generator opens its own connection
        if spec.customer is None:
            raise BadInput(f"no customer given: the customer parameter of {spec.origin} is not one name; "
                           "pass --customer NAME")
        doc = run(dsn, ctx.sink, scale=scale, seed=seed, customer=spec.customer,
                  progress=lambda m: log.info(m), truth_path=truth)
        noun = "conversations"
    else:
        from ..demo.any_table import generate as run_any
        from ..demo.source_model import read_model
        read_model(spec)  # a spec it cannot generate for is refused before anything is opened
        dsn = _source_dsn(ctx)
        open_source(dsn, spec)
        doc = run_any(dsn, ctx.sink, spec, scale=scale, seed=seed, progress=lambda m: log.info(m),
                      truth_path=truth)
        noun = spec.noun[1]
    emit(doc) if as_json else click.echo(f"generated: {doc['totals']['source']:,} {noun} in the source, "
                                         f"{doc['totals']['sink_rows']:,} rows in the sink")


def _source_dsn(ctx: Context) -> str:
    """--source, which the generators connect to themselves; without one, the error every command gives."""
    if not ctx.source_dsn:
        raise BadInput("no source given: pass --source postgresql://user@host:port/db or set CHSYNC_SOURCE")
    return ctx.source_dsn


@main.group()
def embedded() -> None:
    """A throwaway Postgres and chDB directory for trying chsync (up / down / status).

    Writes only inside WORKDIR (the Postgres data directory, the chDB directory, a state file).

    \b
    Example:
      eval "$(chsync embedded up --workdir /tmp/try)"
    """


def _workdir_option(fn: F) -> F:
    return click.option("--workdir", default="chsync-demo", show_default=True,
                        type=click.Path(file_okay=False), help="Directory of the embedded instance.")(fn)


@embedded.command("up")
@_workdir_option
@command
def embedded_up(ctx: Context, as_json: bool, workdir: str) -> None:
    """Start (or reuse) Postgres and prepare the chDB dir; prints the --source and --sink to use as
    `export` lines.

    Writes only inside WORKDIR: creates it and starts a Postgres there (a running one is reused).

    \b
    Example:
      eval "$(chsync embedded up --workdir /tmp/try)"
    """
    from .. import embedded as emb
    urls = emb.up(workdir)
    if as_json:
        emit(tagged("embedded-up", urls))
    else:
        # quoted for the shell that evals them (a workdir may hold a space, a URL a & or ?)
        click.echo(f"export CHSYNC_SOURCE={shlex.quote(urls['source'])}\n"
                   f"export CHSYNC_SINK={shlex.quote(urls['sink'])}")


@embedded.command("down")
@_workdir_option
@click.option("--purge", is_flag=True, help="Also delete the embedded Postgres's data and the chDB directory.")
@command
def embedded_down(ctx: Context, as_json: bool, workdir: str, purge: bool) -> None:
    """Stop the Postgres that `up` started in WORKDIR (nothing else). Its data is kept: the next `up`
    starts it again with everything in it. (Run as root, Postgres keeps its data in a directory of its
    own under the system's temp directory, which the `postgres` user owns.)

    Writes: stops only the Postgres process recorded in WORKDIR; no data is removed unless --purge,
    which deletes the embedded Postgres's data and the chDB directory for good.

    \b
    Example:
      chsync embedded down --workdir /tmp/try
    """
    from .. import embedded as emb
    doc = emb.down(workdir, purge=purge)
    if as_json:
        emit(tagged("embedded-down", doc))
    else:
        click.echo(("stopped" if doc["stopped"] else doc["reason"]) + ("; its data deleted" if purge else ""))


@embedded.command("status")
@_workdir_option
@command
def embedded_status(ctx: Context, as_json: bool, workdir: str) -> None:
    """Is the embedded Postgres of WORKDIR running? Prints its --source when it is.

    Read-only.

    \b
    Example:
      chsync embedded status --workdir /tmp/try --json
    """
    from .. import embedded as emb
    doc = emb.status(workdir)
    emit(tagged("embedded-status", doc)) if as_json else click.echo(("running: " + doc["source"]) if doc["running"]
                                                                    else "not running")


@main.command()
@command
def init(ctx: Context, as_json: bool) -> int | None:
    """Create the sink database, the table and (on a cluster) the Distributed table when missing,
    ON CLUSTER when --sink names a cluster, with the columns the spec declares. The spec is checked against
    Postgres first (as `chsync spec check` does): a spec that does not match it creates nothing.

    Writes: CREATE ... IF NOT EXISTS only; an existing table is used as it is, never dropped or altered.

    \b
    Example:
      chsync --sink 'clickhouse://chsync@host:9000/alaska_air_us_east_1?cluster=replicated' init
    """
    from ..sink import check_url
    from ..source.catalog import require
    check_url(ctx.sink_url)  # a mistyped sink is bad input, whatever the source says
    ctx.writable()
    if ctx.many():
        def one(source: PostgresSource, sink: ClickHouseSink) -> tuple[dict, int]:
            source.check_customer()
            require(source, source.spec)
            return tagged("init", {"table": sink.table, "statements": sink.init()}), 0
        return fan_out(ctx, as_json, "init", one)
    ctx.checked_source()
    statements = ctx.sink.init()
    if as_json:
        emit(tagged("init", {"table": ctx.sink.table, "statements": statements}))
    else:
        click.echo(f"ready: {ctx.sink.table}")
    return None
