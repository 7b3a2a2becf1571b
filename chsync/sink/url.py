"""The server sink URL: clickhouse[s]://user:password@host:port/database?parameters."""

from __future__ import annotations

import dataclasses
import os
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import BadInput
from ..secrets import redact_url
from ..spec.model import IDENTIFIER, TableSpec

PARAMS = {"cluster", "secure", "distributed", "replicated", "connect_timeout", "timeout", "http_port",
          "ca_certs", "verify", "tls_ports", "replica_timeout"}


@dataclasses.dataclass(frozen=True)
class ServerURL:
    host: str
    port: int
    user: str
    password: str
    database: str | None
    cluster: str | None
    secure: bool
    replicated: bool | None
    connect_timeout: float          # seconds to open a connection
    timeout: float                  # seconds a query may go without an answer (a hung node ends here)
    distributed: str | None = None
    http_port: int | None = None    # the HTTP interface, when the URL names it
    ca_certs: str | None = None     # a CA bundle that signed the server's certificate (secure only)
    verify: bool = True             # check the server's certificate (secure only)
    # With TLS, chsync reaches every node of a cluster on the URL's port (as clusters are set up: 9440 on
    # each host); tls_ports=9000:9440,9001:9441 maps the native ports system.clusters lists to others.
    tls_ports: tuple[tuple[int, int], ...] = ()
    replica_timeout: float = 120.0  # seconds a replica may take to apply a write before it is named

    @property
    def replica_wait(self) -> float:
        """The server's own wait for a replica: shorter than the socket's, so the server's error names it."""
        return min(self.replica_timeout, self.timeout * 0.8)

    def node_port(self, listed: int) -> int:
        """The port to reach a node on, given the native port system.clusters lists for it."""
        if not self.secure:
            return listed
        return dict(self.tls_ports).get(listed, self.port)

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def default_http_port(self) -> int:
        return 8443 if self.secure else 8123


def parse_url(url: str) -> ServerURL:
    shown = redact_url(url)
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise BadInput(f"sink {shown!r} has an invalid port: use clickhouse://user:pw@host:9000/db") from None
    if not parts.hostname:
        raise BadInput(f"sink {shown!r} has no host: use clickhouse://user:pw@host:9000/db?cluster=NAME")
    params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(params) - PARAMS
    if unknown:
        raise BadInput(f"sink {shown!r} has unknown parameter(s) {', '.join(sorted(unknown))}: "
                       f"known are {', '.join(sorted(PARAMS))}")
    database = parts.path.strip("/") or None
    for what, value in (("database", database), ("cluster", params.get("cluster")),
                        ("distributed", params.get("distributed"))):
        if value is not None and not IDENTIFIER.match(value):
            raise BadInput(f"sink {shown!r}: {what} {value!r} is not a plain identifier")

    def flag(name: str) -> bool | None:
        value = params.get(name)
        if value is None:
            return None
        if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise BadInput(f"sink {shown!r}: {name}={value!r} must be 1 or 0")
        return value.lower() in ("1", "true", "yes")

    def seconds(name: str, default: float) -> float:
        try:
            value = float(params.get(name, default))
        except ValueError:
            value = -1
        if not 0 < value <= 86400:
            raise BadInput(f"sink {shown!r}: {name} must be a number of seconds (default {default:g})")
        return value

    secure = bool(flag("secure")) or parts.scheme == "clickhouses"
    http_port = params.get("http_port")
    if http_port is not None and (not http_port.isdigit() or not 0 < int(http_port) < 65536):
        raise BadInput(f"sink {shown!r}: http_port={http_port!r} must be a port number (the server's HTTP "
                       "interface, 8123 by default, 8443 with secure=1)")
    ca_certs = params.get("ca_certs")
    if ca_certs is not None:
        if not secure:
            raise BadInput(f"sink {shown!r}: ca_certs needs a TLS connection: add secure=1 (or use clickhouses://)")
        if not os.path.isfile(ca_certs):
            raise BadInput(f"sink {shown!r}: ca_certs {ca_certs!r} is not a file: give the CA bundle (PEM) that "
                           "signed the server's certificate")
    verify = flag("verify")
    tls_ports = []
    for pair in filter(None, params.get("tls_ports", "").split(",")):
        plain, _, tls = pair.partition(":")
        if not (plain.isdigit() and tls.isdigit()):
            raise BadInput(f"sink {shown!r}: tls_ports={params['tls_ports']!r} must list NATIVE_PORT:TLS_PORT pairs, "
                           "e.g. 9000:9440")
        tls_ports.append((int(plain), int(tls)))
    return ServerURL(parts.hostname, port or (9440 if secure else 9000), unquote(parts.username or "default"),
                     unquote(parts.password or ""), database, params.get("cluster"), secure, flag("replicated"),
                     seconds("connect_timeout", 10), seconds("timeout", 300), params.get("distributed"),
                     int(http_port) if http_port else None, ca_certs, True if verify is None else verify,
                     tuple(tls_ports), seconds("replica_timeout", 120))


def spec_for_url(url: str, spec: TableSpec) -> TableSpec:
    """The spec as this URL amends it (a /database path, a distributed= parameter)."""
    parsed = parse_url(url)
    return spec.with_sink(database=parsed.database, distributed_table=parsed.distributed)
