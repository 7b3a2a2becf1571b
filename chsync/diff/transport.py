"""Where a diff compares: in push mode each database hashes its own side; in pull mode the sink (or, for a
server, an in-process chDB mirror of its rows) reads Postgres itself. The facts policy.diff_mode decides
on are found out here."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

from ..policy import diff_mode

if TYPE_CHECKING:
    from ..pull.mirror import Mirror
    from ..pull.reader import Puller
    from ..sink.base import ClickHouseSink
    from ..sink.server import ServerSink
    from ..source.postgres import PostgresSource
    from ..spec.model import TableSpec


@dataclasses.dataclass
class Transport:
    mode: str
    why: str
    source: PostgresSource
    sink: ClickHouseSink
    http_port: int | None = None

    @contextlib.contextmanager
    def open(self) -> Iterator[tuple[Puller, Mirror | None]]:
        """(puller, mirror or None) for a pull diff; both closed on exit."""
        from ..pull.mirror import Mirror
        from ..pull.reader import Puller
        mirror = Mirror(cast("ServerSink", self.sink), self.http_port) if self.http_port is not None else None
        with mirror or contextlib.nullcontext(), Puller(mirror or self.sink, self.source) as puller:
            yield puller, mirror


def not_pullable(spec: TableSpec, precision: int) -> str | None:
    """Why the spec's SQL cannot be carried into ClickHouse, or None."""
    from ..pull.transpile import NotPullable, PgLink, PulledSource
    try:
        PulledSource(spec, PgLink("h", 1, "d", "u", ""), precision)
        return None
    except NotPullable as e:
        return str(e)


def diff_transport(source: PostgresSource, sink: ClickHouseSink, requested: str) -> Transport:
    from ..pull.mirror import available
    caps = sink.capabilities
    if requested == "push":
        choice = diff_mode(requested, caps)
        return Transport(choice.name, choice.why, source, sink)
    reason = not_pullable(sink.spec, caps.time_precision)
    http_port, no_http = None, None
    if not caps.in_process and caps.http_copy and reason is None and available():
        http_port, no_http = cast("ServerSink", sink).http_endpoint()   # a server: not in process
    choice = diff_mode(requested, caps, not_pullable=reason, chdb=available(), no_http=no_http)
    return Transport(choice.name, choice.why, source, sink, http_port if choice.name == "pull" and not
                     caps.in_process else None)
