"""Read-only commands: scope, diff, verify (which records its proofs), history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .. import api, log
from ..dates import parse_range
from .context import Context
from .main import command, emit, fan_out, main, metrics_options, mode_option, range_options

if TYPE_CHECKING:
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource


@main.command()
@range_options
@click.option("--out", metavar="DIR", type=click.Path(file_okay=False),
              help="Also write scope.md (+ charts/*.svg), scope.html and scope.json into DIR.")
@click.option("--samples", default=0, show_default=True, help="Sample keys per class to include.")
@mode_option("auto")
@metrics_options
@command
def scope(ctx: Context, as_json: bool, from_: str, to: str, out: str | None, samples: int, mode: str) -> int:
    """Analysis of the range: totals, distinct, duplicates, missing/stale/changed per day and per
    breakdown value (usecase for the seed's table), stale reasons and changed columns, laid out like the
    seed's report. --out DIR also writes scope.md (charts as SVG files in DIR/charts/), scope.html (one
    self-contained page) and scope.json.

    Read-only: nothing in Postgres or ClickHouse changes; files are written only into --out DIR.

    \b
    Example:
      chsync scope --from 2026-01-01 --to 2026-02-18 --out report/
    """
    from ..report.markdown import scope_markdown
    first, last = parse_range(from_, to)
    doc = dict(api.scope(source=ctx.checked_source(), sink=ctx.sink, first=first, last=last, samples=samples,
                         mode=mode, out=out).document)
    ctx.results = [(ctx.spec, doc, 0)]
    emit(doc) if as_json else click.echo(scope_markdown(doc))
    return 0


@main.command()
@range_options
@click.option("--limit", default=10, show_default=True, help="Sample keys per class.")
@mode_option("auto")
@command
def diff(ctx: Context, as_json: bool, from_: str, to: str, limit: int, mode: str) -> int:
    """Row-level differences, classified: missing, stale (with the reason: the first predicate of the
    spec's filter the row now fails, `deleted` when Postgres has no such row, `day_moved` when it passes
    on another day), changed (with the columns), duplicates. Only days whose fingerprints differ are
    drilled into. Exit 1 when any differ.

    Read-only.

    \b
    Example:
      chsync diff --from 2026-01-20 --to 2026-01-20 --limit 5
    """
    first, last = parse_range(from_, to)
    result = api.diff(source=ctx.checked_source(), sink=ctx.sink, first=first, last=last, limit=limit, mode=mode)
    doc = dict(result.document)
    if as_json:
        emit(doc)
    else:
        _print_diff(doc)
    return result.exit_code


def _print_diff(doc: dict) -> None:
    from ..report.markdown import table
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
@metrics_options
@command
def verify(ctx: Context, as_json: bool, from_: str, to: str, mode: str) -> int:
    """Proof that the sink equals the source for the range: per day, counts and row fingerprints agree,
    no duplicates. Exit 0 only when every day is in sync, 1 otherwise. The default --mode push has
    Postgres hash its own rows, so the proof does not depend on how the rows got there.

    Read-only: nothing in Postgres or the sink table changes. Each day's outcome is recorded in the
    ledger (chsync_proofs, beside the journal), which `sync --sweep` and `chsync history` read.

    \b
    Example:
      chsync verify --from 2026-01-01 --to 2026-02-18
    """
    first, last = parse_range(from_, to)
    if ctx.many():
        def one(source: PostgresSource, sink: ClickHouseSink) -> tuple[dict, int]:
            result = api.verify(source=source, sink=sink, first=first, last=last, mode=mode)
            return dict(result.document), result.exit_code
        return fan_out(ctx, as_json, "verify", one)
    result = api.verify(source=ctx.checked_source(), sink=ctx.sink, first=first, last=last, mode=mode)
    doc = dict(result.document)
    ctx.results = [(ctx.spec, doc, result.exit_code)]
    bad = [d for d in doc["days"] if not d["in_sync"]]
    if as_json:
        emit(doc)
    elif bad:
        for d in bad:
            click.echo(f"{d['day']}: NOT in sync — source {d['source']:,}, sink {d['sink_rows']:,} rows / "
                       f"{d['sink_distinct']:,} distinct; missing {d['missing']:,}, stale {d['stale']:,}, "
                       f"changed {d['changed']:,}, duplicates {d['duplicates']:,}")
        for r in doc.get("replicas", {}).get("differing", []):
            click.echo(f"{r['day']}: replica {r['replica']} of shard {r['shard']} holds {r['rows']:,} rows, its "
                       f"peer {r['peer']} {r['peer_rows']:,} (or their fingerprints differ)")
    else:
        click.echo(f"in sync: {result.days} day(s), {result.source_rows:,} {result.noun}")
    if bad:
        log.error(f"{len(bad)} of {len(doc['days'])} day(s) out of sync: "
                  f"{', '.join(d['day'] for d in bad[:10])}{' ...' if len(bad) > 10 else ''}")
    return result.exit_code


@main.command()
@click.option("--html", "html_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write the calendar heatmap as one self-contained HTML page.")
@command
def history(ctx: Context, as_json: bool, html_file: str | None) -> int:
    """Every day of the table's history (from the spec's [sync] history_from, else the sink's first day,
    to its last day) with what the ledger knows of it: when it was last proven equal to Postgres (by
    verify, the daily job's check or sweep, a swap, a backfill), when drift was last found, when it was
    healed. Prints a summary (or --json, the document behind it); --html FILE draws it as a calendar.

    Read-only: reads the sink only (the ledger and the table's first and last day).

    \b
    Example:
      chsync history --html history.html
    """
    result = api.history(sink=ctx.sink, html=html_file)
    doc = dict(result.document)
    if as_json:
        emit(doc)
        return 0
    oldest = result.oldest_proof_age_seconds
    click.echo(f"{doc['table']}: {result.days:,} days ({doc['from']} – {doc['to']}): "
               f"{result.proven:,} proven ({result.healed:,} of them healed), "
               f"{result.drifted:,} with drift found and not proven since, {result.never:,} never proven; "
               f"oldest proof {'—' if oldest is None else f'{oldest / 86400:.1f} days old'}")
    return 0
