"""Sinks: ClickHouse, embedded (chDB, chdb.py), a server (server.py) or a cluster (cluster.py). Their SQL is
generated from the table spec in base.py; each backend declares what it can do (capabilities.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import BadInput
from ..secrets import redact_url
from ..spec.model import TableSpec
from .base import ClickHouseSink, Statement
from .capabilities import Capabilities

if TYPE_CHECKING:
    from .server import ServerSink


def open_sink(url: str | None, spec: TableSpec) -> ClickHouseSink:
    url = _scheme_checked(url)
    if urlsplit(url).scheme == "chdb":
        from .chdb import ChdbSink
        return ChdbSink.from_url(url, spec)
    return open_server(url, spec)


def check_url(url: str | None) -> None:
    """The mistakes of a sink URL (bad input), found without opening or creating anything."""
    url = _scheme_checked(url)
    if urlsplit(url).scheme == "chdb":
        from .chdb import ChdbSink
        ChdbSink.path_of(url)
    else:
        from .url import parse_url
        parse_url(url)


def _scheme_checked(url: str | None) -> str:
    if not url:
        raise BadInput("no sink given: pass --sink chdb:///path/to/dir or clickhouse://user@host:9000/db, "
                       "or set CHSYNC_SINK")
    scheme = urlsplit(url).scheme
    if scheme not in ("chdb", "clickhouse", "clickhouses"):
        raise BadInput(f"sink {redact_url(url)!r} has unknown scheme {scheme!r}: use chdb:///dir or "
                       "clickhouse://user:password@host:9000/db?cluster=NAME")
    return url


def open_server(url: str, spec: TableSpec) -> ServerSink:
    """A server sink: a cluster when the URL names one."""
    from .url import parse_url, spec_for_url
    parsed = parse_url(url)
    if parsed.cluster:
        from .cluster import ClusterSink
        return ClusterSink(parsed, spec_for_url(url, spec), redact_url(url))
    from .server import ServerSink
    return ServerSink(parsed, spec_for_url(url, spec), redact_url(url))


def sink_spec(url: str, spec: TableSpec) -> TableSpec:
    """The spec the sink at `url` would use, without connecting."""
    if url and urlsplit(url).scheme in ("clickhouse", "clickhouses"):
        from .url import spec_for_url
        return spec_for_url(url, spec)
    return spec


__all__ = ["open_sink", "check_url", "sink_spec", "ClickHouseSink", "Capabilities", "Statement"]
