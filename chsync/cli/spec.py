"""The spec itself: `spec show` (the resolved spec, its SQL and DDL), `spec check` (against the live
databases) and `migrate` (add to the sink the columns the spec gained)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

import click

from ..errors import BadInput
from ..schemas import tagged
from ..spec.model import Column, TableSpec
from .context import Context
from .main import command, emit, main

if TYPE_CHECKING:
    from ..sink.capabilities import Capabilities


def preview_capabilities(spec: TableSpec, cluster: str | None) -> Capabilities:
    from ..sink.capabilities import Capabilities
    return Capabilities(backend="preview", version="", time_precision=3, partition_key="",
                        partition_grain=spec.sink.partition, cluster=cluster, replicated=bool(cluster),
                        distributed=bool(cluster), sharding_key=spec.sink.sharding_key if cluster else None)


def ddl_preview(spec: TableSpec, cluster: str | None) -> list[str]:
    from ..sink import ddl
    caps = preview_capabilities(spec, cluster)
    db = spec.sink_database
    table = f"{db}.{spec.sink.table}"
    on = f" ON CLUSTER {cluster}" if cluster else ""
    statements = [f"CREATE DATABASE IF NOT EXISTS {db}{on}",
                  ddl.local_table(spec, table, caps, on_cluster=on, replicated=bool(cluster))]
    if cluster:
        statements.append(ddl.distributed_table(f"{db}.{spec.sink.distributed_table}", table, cluster,
                                                spec.sink.sharding_key))
    return statements


def _one_or_all(command: str, docs: list[dict]) -> dict:
    """One table's document, or for a file of several tables their documents under `tables`."""
    return docs[0] if len(docs) == 1 else tagged("tables", {"command": command, "tables": docs})


def _describe(spec: TableSpec) -> list[str]:
    def col(c: Column) -> str:
        extra = [x for x, on in (("nullable", c.nullable), ("low cardinality", c.low_cardinality)) if on]
        source = f"{c.child.table}.{c.child.value} by {c.child.key}" if c.child else c.sql
        return f"  {c.name}: {c.type}{' (' + ', '.join(extra) + ')' if extra else ''} ← {source}"
    lines = [f"Table {spec.name} ({spec.origin}), spec hash {spec.fingerprint}",
             f"Key {spec.key}, day {spec.day} ({spec.day_timezone} days), version {spec.version}",
             f"Source: FROM {spec.source_from} {' '.join(spec.joins)}".rstrip(),
             "Parameters: " + (", ".join(f"{k} = {v!r}" for k, v in spec.params.items()) or "none"),
             "Filter (a stale row's reason is the first it fails):"]
    lines += [f"  {f.reason}: {f.sql if f.sql else '(built in)'}" for f in spec.filters]
    lines += ["Columns (sink order):", *(col(c) for c in spec.columns)]
    s = spec.sink
    lines.append(f"Sink: {spec.sink_database}.{s.table} (Distributed {s.distributed_table} on a cluster), ORDER BY "
                 f"{', '.join(s.order_by)}, sharding {s.sharding_key}, partitions by {s.partition}")
    return lines


@main.group()
def spec() -> None:
    """The table spec: what chsync keeps in sync (show it, check it against the live databases).

    Read-only.

    \b
    Example:
      chsync --config shop.toml spec show
    """


@spec.command("show")
@click.option("--day", metavar="YYYY-MM-DD", help="The day whose Postgres SQL to show (default: today, UTC).")
@click.option("--cluster", metavar="NAME", help="Show the DDL for this cluster (Replicated + Distributed).")
@command
def spec_show(ctx: Context, as_json: bool, day: str | None, cluster: str | None) -> int:
    """The resolved spec (parameters applied), the Postgres SQL that reads one day, and the sink DDL that
    `chsync init` would run. Reads only the spec file: no database is contacted.

    Read-only.

    \b
    Example:
      chsync --config examples/shop_orders.toml spec show --day 2026-01-20
    """
    from ..dates import parse_day
    from ..diff.transport import not_pullable
    from ..source.sql import SourceSQL
    the_day = parse_day(day, "--day") if day else dt.datetime.now(dt.UTC).date()
    docs: list[dict] = []
    for one in ctx.specs:
        sql = SourceSQL(one, 3)
        unpullable = not_pullable(one, 3)
        postgres = {"read": sql.read(the_day, the_day), "fingerprints": sql.day_fingerprints(the_day, the_day)}
        docs.append(tagged("spec-show", {"spec": one.as_dict(), "hash": one.fingerprint, "day": the_day.isoformat(),
                                         "postgres": postgres, "ddl": ddl_preview(one, cluster),
                                         "pull": {"possible": unpullable is None, "why_not": unpullable}}))
        if not as_json:
            click.echo("\n".join(_describe(one)))
            click.echo(f"\nPostgres SQL of {the_day} (the rows as the sink stores them, with their fingerprint):\n  "
                       + docs[-1]["postgres"]["read"])
            click.echo("\nSink DDL (`chsync init`):\n  " + "\n  ".join(docs[-1]["ddl"]))
            click.echo("\nPull mode: " + ("possible (the spec's SQL transpiles to ClickHouse)" if unpullable is None
                                          else f"not possible ({unpullable}); push is used"))
            if len(ctx.specs) > 1:
                click.echo("")
    if as_json:
        emit(_one_or_all("spec-show", docs))
    return 0


@spec.command("check")
@command
def spec_check(ctx: Context, as_json: bool) -> int:
    """Check the spec against the live Postgres (tables, columns, types, unique joins, nullable columns) and
    the sink (its table's columns and partitions). Exit 2 when anything must be fixed first.

    Read-only.

    \b
    Example:
      chsync --config shop.toml spec check
    """
    from ..source import open_source
    from ..source.catalog import Finding, check
    reports, failed = [], False
    errors: list[str] = []
    for one in ctx.specs:
        findings: list[Finding] = []
        if one.unsafe_for_swaps:
            findings.append(Finding("error", one.unsafe_for_swaps))
        source = open_source(ctx.source_dsn, one)
        try:
            findings += check(source, one)
        finally:
            source.close()
        findings += _sink_findings(ctx, one)
        failed = failed or any(f.level == "error" for f in findings)
        errors += [f"{one.name}: {f.message}" for f in findings if f.level == "error"]
        reports.append(tagged("spec-check", {"table": one.name, "hash": one.fingerprint,
                                             "findings": [{"level": f.level, "message": f.message} for f in findings],
                                             "ok": not any(f.level == "error" for f in findings)}))
        if not as_json:
            click.echo(f"{one.name}: " + ("ok" if reports[-1]["ok"] else "must be fixed"))
            for f in findings:
                click.echo(f"  {f.level}: {f.message}")
    if as_json:
        emit(_one_or_all("spec-check", reports))
    if errors:   # the report says everything; stderr says what must be fixed first, in one line
        from .. import log
        more = len(errors) - 1
        log.error(errors[0] + (f" ({more} more in the report)" if more else ""))
    return 2 if failed else 0


def _sink_findings(ctx: Context, spec: TableSpec) -> list:
    from ..sink import open_sink
    from ..source.catalog import Finding
    if not ctx.sink_url:
        return [Finding("warning", "no sink given (--sink or CHSYNC_SINK): the sink table was not checked")]
    if ctx.sink_url.startswith("chdb:"):
        import os

        from ..sink.chdb import ChdbSink
        if not os.path.exists(ChdbSink.path_of(ctx.sink_url)):   # opening it would create it: a check writes nothing
            return [Finding("warning", f"sink {ctx.sink_url} does not exist yet: `chsync init` creates it")]
    with open_sink(ctx.sink_url, spec) as sink:
        if not sink.table_exists():
            return [Finding("warning", f"sink table {sink.table} does not exist yet: `chsync init` creates it")]
        change = sink.schema_change()
        # what migrate adds is a warning; what it refuses (a column dropped, renamed or retyped) an error
        found = [Finding("warning", line) for line in dataclasses.replace(change, dropped=[], retyped=[]).describe()]
        found += [Finding("error", line) for line in dataclasses.replace(change, added=[]).describe()]
        caps = sink.capabilities
        if caps.partition_grain != spec.sink.partition:
            found.append(Finding("warning", f"sink table {sink.table} is partitioned by {caps.partition_key}, the "
                                            f"spec says by {spec.sink.partition}: chsync plans for what the table has"))
        return found


@main.command()
@click.option("--dry-run", is_flag=True, help="Print the statements without running them.")
@command
def migrate(ctx: Context, as_json: bool, dry_run: bool) -> int:
    """Add to the sink table the columns the spec gained (on a cluster: the local table ON CLUSTER, the
    Distributed table on each node). Every day then differs from Postgres until it is backfilled (`chsync plan` shows
    it). A column dropped, renamed or retyped in the spec is refused, with the steps to do by hand.

    Writes: ALTER TABLE ... ADD COLUMN only; nothing is dropped or rewritten.

    \b
    Example:
      chsync --config shop.toml migrate --dry-run
    """
    ctx.writable()
    ctx.checked_source()   # a column Postgres does not have is never added
    sink = ctx.sink
    sink.require_table_exists()
    change = sink.schema_change()
    if not change.migratable:
        steps = "; ".join(change.describe())
        raise BadInput(f"migrate only adds columns: {steps}. By hand: rename or drop the column in the sink "
                       f"(ALTER TABLE {sink.table} RENAME/DROP/MODIFY COLUMN ...), or put the spec back as the "
                       "table is, then backfill the range")
    planned = sink.migrate_statements()
    statements = [str(s) for s in planned]
    if not dry_run:
        sink.run(planned)
    if as_json:
        emit(tagged("migrate", {"table": sink.table, "added": [c.name for c in change.added],
                                "statements": statements, "dry_run": dry_run}))
    elif not statements:
        click.echo(f"{sink.table} has every column of the spec: nothing to add")
    else:
        click.echo(("would run" if dry_run else "ran") + ":\n  " + "\n  ".join(s.replace("\n", "\n  ")
                                                                           for s in statements))
        if not dry_run:
            click.echo("every day of the table now differs from Postgres in the new column(s) until it is "
                       "backfilled: see `chsync plan`")
    return 0


@spec.command("new")
@click.option("--from", "source_table", required=True, metavar="SCHEMA.TABLE",
              help="The Postgres table to describe (its columns, types and primary key).")
@click.option("--day", metavar="COLUMN", help="The day column (default: the sink table's partition column, or the "
                                              "only NOT NULL timestamptz/timestamp/date column).")
@click.option("--version", "version_column", metavar="COLUMN",
              help="The version column (default: updated_at, or the only candidate).")
@click.option("--sink-table", metavar="DB.TABLE", help="Adopt this existing ClickHouse table (on --sink): its "
                                                       "names, ORDER BY, partitions, Distributed table and day zone.")
@click.option("--child", "children", multiple=True, metavar="NAME=TABLE.COLUMN",
              help="A text[] column NAME gathered from TABLE.COLUMN by TABLE's foreign key to the base table. "
                   "Repeatable.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the spec here (default: stdout). An "
                                                                     "existing file is never overwritten.")
@command
def spec_new(ctx: Context, as_json: bool, source_table: str, day: str | None, version_column: str | None,
             sink_table: str | None, children: tuple[str, ...], output: str | None) -> int:
    """Write a starting spec from the catalogs: every column of a Postgres table with its type, the key from
    its primary key, the day and version columns, and with --sink-table the ClickHouse table an old job made
    (its names, ORDER BY, partitioning, Distributed table and the zone its days are cut in). A column chsync
    cannot map is written commented out with the reason. The file passes `spec check` against the same
    databases.

    Read-only (writes only --output).

    \b
    Example:
      chsync --source postgresql://me@db/app --sink clickhouse://me@ch:9000/analytics \\
        spec new --from public.orders --day created_at --sink-table analytics.orders -o orders.toml
    """
    import os

    from .spec_new import write_spec
    if output and os.path.exists(output):
        raise BadInput(f"--output {output} exists: chsync never overwrites a spec; pick another path")
    text, unmapped = write_spec(ctx, source_table, day, version_column, sink_table, children)
    if output:
        with open(output, "x", encoding="utf-8") as f:
            f.write(text)
    if as_json:
        emit(tagged("spec-new", {"spec": text, "output": output, "unmapped": unmapped}))
    elif output:
        from .. import log
        log.info(f"wrote {output}" + (f" ({len(unmapped)} column(s) left commented out: {', '.join(unmapped)})"
                                      if unmapped else "") + f"; next: chsync --config {output} spec check")
    else:
        click.echo(text, nl=False)
    return 0
