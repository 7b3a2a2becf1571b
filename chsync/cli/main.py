"""The command group, its global options, and what every command shares: --json, one error line with the
exit code of errors.py, and the summary table of a many-target run."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click

from .. import api, log
from ..errors import ChsyncError
from ..schemas import tagged
from .context import Context

if TYPE_CHECKING:
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource

F = TypeVar("F", bound=Callable[..., Any])


def emit(doc: dict) -> None:
    click.echo(json.dumps(doc, indent=2, default=str))


def command(fn: Callable[..., int | None]) -> Callable[..., NoReturn]:
    """Adds --json, sets quiet mode for it, and turns ChsyncError into one line + exit code. A command with
    metrics options (metrics_options) publishes its run's metrics after it ended, however it ended."""
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout; logs go to stderr.")
    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(ctx: Context, as_json: bool, **kwargs: Any) -> NoReturn:
        log.set_quiet(as_json or log.is_quiet())
        metrics_file, metrics_push = kwargs.pop("metrics_file", None), kwargs.pop("metrics_push", None)
        started = time.time()
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
        if metrics_file or metrics_push:
            from .metrics import publish
            publish(ctx, fn.__name__, started, code or 0, metrics_file, metrics_push)
        sys.exit(code or 0)
    return wrapper


def metrics_options(fn: F) -> F:
    fn = click.option("--metrics-push", metavar="URL",
                      help="Also push the run's metrics to this Prometheus Pushgateway (job chsync). A failed "
                           "push is reported on stderr and never changes the exit code.")(fn)
    return click.option("--metrics-file", metavar="PATH", type=click.Path(dir_okay=False),
                        help="Write the run's metrics in Prometheus' text format to PATH, atomically (for "
                             "node_exporter's textfile collector). docs/RUNNING_DAILY.md says what each "
                             "means.")(fn)


def fan_out(ctx: Context, as_json: bool, what: str,
            job: Callable[[PostgresSource, ClickHouseSink], tuple[dict, int]]) -> int:
    """Run job(source, sink) -> (doc, exit code) once per (table, customer); print one summary table."""
    from ..apply.fanout import run_targets, worst_exit_code
    outcomes = run_targets(ctx.targets(), ctx.source_dsn, ctx.sink_url, job)
    ctx.results = [(o.spec, o.doc or None, o.exit_code) for o in outcomes]
    rows = [o.row() for o in outcomes]
    if as_json:
        emit(tagged("targets", {"command": what, "customers": rows, "results": {o.name: o.doc for o in outcomes}}))
    else:
        from ..report.markdown import duration, table
        several_tables = len({r["table"] for r in rows}) > 1
        click.echo(table((["Table"] if several_tables else []) +
                         ["Customer", "Database", "Status", "Days", "Rows written", "Time", "Detail"],
                         [([r["table"]] if several_tables else []) +
                          [r["customer"] or "", r["database"], r["status"], r["days"], r["rows_written"],
                           duration(r["seconds"]), r["detail"]] for r in rows]))
    return worst_exit_code(outcomes)


def range_options(fn: F) -> F:
    fn = click.option("--to", "to", metavar="YYYY-MM-DD", required=True, help="Last day (inclusive, UTC).")(fn)
    return click.option("--from", "from_", metavar="YYYY-MM-DD", required=True, help="First day (UTC).")(fn)


def config_option(fn: F) -> F:
    """`--config FILE` also after the command (`chsync demo --config FILE`), the same as before it."""
    def use(click_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value:
            cast(Context, click_ctx.find_object(Context)).use_config(value)   # main set it
        return value
    return click.option("--config", "config_here", metavar="FILE", type=click.Path(dir_okay=False),
                        expose_value=False, callback=use, is_eager=True,
                        help="TOML table spec (the same as the global --config).")(fn)


def workers_option(fn: F) -> F:
    return click.option("--workers", type=click.IntRange(1, 16),
                        help="Days processed at once (default 2: while Postgres reads one day, the sink writes "
                             "another; 1 on a cluster, whose DDL runs ON CLUSTER). Swap only: "
                             "mutation strategies run one day at a time, so the sink's mutation queue never "
                             "grows. Each worker has its own connections; 1 runs the days in order.")(fn)


def batch_option(fn: F) -> F:
    from ..strategies.partition import BATCH_ROWS
    return click.option("--batch-rows", type=click.IntRange(1000, None), default=BATCH_ROWS, show_default=True,
                        metavar="N",
                        help="Rows of a day held in memory at once: a larger day is read and staged in batches of "
                             "N, then checked and swapped as one partition (the swap stays atomic). Memory "
                             "grows with N, not with the size of a day.")(fn)


def mode_option(default: str) -> Callable[[F], F]:
    return click.option(
        "--mode", type=click.Choice(["push", "pull", "auto"]), default=default, show_default=True,
        help="push: chsync reads Postgres and writes the rows. pull: the sink reads Postgres itself through "
             "postgresql() (ClickHouse 21.3+, chDB) and joins and hashes there. auto: pull where the sink "
             "can reach Postgres (embedded), push otherwise. For diff and scope on a server sink, pull "
             "copies the server's rows over HTTP into an in-process chDB, which reads Postgres and compares; "
             "auto does so when chDB is installed and the server's HTTP interface answers.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--source", envvar="CHSYNC_SOURCE", metavar="DSN",
              help="Postgres DSN, postgresql://user[:pw]@host:port/db (env CHSYNC_SOURCE).")
@click.option("--sink", envvar="CHSYNC_SINK", metavar="URL",
              help="chdb:///dir (embedded) or clickhouse[s]://user[:pw]@host:9000/db?cluster=NAME "
                   "[&secure=1&ca_certs=CA.pem&http_port=8123&timeout=300] (env CHSYNC_SINK).")
@click.option("--customer", metavar="NAME[,NAME…]",
              help="Customer (the spec's `customer` parameter; default alaska-air in the shipped spec); several, "
                   "comma-separated, run one after another, each in its own sink database (init, sync, backfill, "
                   "verify).")
@click.option("--all-customers", is_flag=True, help="Every customer in the spec's [tenant] customers table.")
@click.option("--config", metavar="FILE", type=click.Path(dir_okay=False),
              help="TOML table spec (default: the shipped seed spec; `chsync spec show` prints it).")
@click.option("--table", metavar="NAME", help="One table of a many-table spec file (default: all).")
@click.option("--param", "params", metavar="NAME=VALUE", multiple=True,
              help="Override a spec parameter (repeatable); a list parameter takes a,b,c.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.version_option(package_name="chsync")
@click.pass_context
def main(click_ctx: click.Context, source: str | None, sink: str | None, customer: str | None, all_customers: bool,
         config: str | None, table: str | None, params: tuple[str, ...], quiet: bool) -> None:
    """chsync keeps a ClickHouse copy of a Postgres table in sync: it measures the drift (scope, diff),
    repairs it day by day without readers ever seeing an empty or doubled day (sync, backfill), and
    proves the result (verify). What the table is comes from a spec file (--config); without one, the
    seed's conversations table.

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
    api.configure_runtime()
    log.set_quiet(quiet)
    click_ctx.obj = Context(source, sink, customer, config, all_customers, table, params)
