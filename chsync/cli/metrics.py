"""--metrics-file / --metrics-push: the run's metrics, published after the command ended (report/metrics.py
builds them from the command's document). A failed push is one line on stderr, never a failed run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from .. import log
from .context import Context

if TYPE_CHECKING:
    from ..spec.model import TableSpec


def publish(ctx: Context, command: str, started: float, code: int, path: str | None, url: str | None) -> None:
    from ..report.metrics import MetricsPushFailed, push, registry_for, write_textfile
    ended = time.time()
    results = ctx.results or [(spec, None, code) for spec in _specs(ctx)]
    for spec, doc, exit_code in results:
        registry = registry_for(command, doc, table=spec.name, customer=spec.customer, ended_at=ended,
                                duration=ended - started, success=exit_code == 0, last_in_sync=_last_in_sync(ctx, spec))
        if path:
            target = Path(path) if len(results) == 1 else _per_target(Path(path), spec)
            try:
                write_textfile(target, registry)
            except OSError as e:
                log.error(f"could not write the metrics file {target}: {e}")
        if url:
            try:
                push(url, registry, table=spec.name, customer=spec.customer, command=command,
                     timeout=10.0)
            except MetricsPushFailed as e:
                log.error(str(e))


def _specs(ctx: Context) -> list:
    try:
        return ctx.specs
    except Exception:
        return []


def _per_target(path: Path, spec: TableSpec) -> Path:
    """chsync.prom → chsync.<table>.<customer>.prom when one run covers several targets."""
    parts = [spec.name] + ([spec.customer] if spec.customer else [])
    return path.with_name(f"{path.stem}.{'.'.join(parts)}{path.suffix}")


def _last_in_sync(ctx: Context, spec: TableSpec) -> float | None:
    """The last time a run of this table ended in sync, from its journal (None when unknown)."""
    if not ctx.sink_url:
        return None
    from ..apply.journal import Journal
    from ..sink import open_sink
    try:
        with open_sink(ctx.sink_url, spec) as sink:
            if not sink.table_exists(f"{sink.db}.chsync_runs"):
                return None
            return Journal(sink).last_in_sync()
    except Exception:   # metrics must never turn a run into a failure
        return None
