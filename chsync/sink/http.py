"""The server's HTTP interface, which the diff's chDB mirror copies rows through: is it there, and is it
the same server the native connection reached? Several servers can share a host (one per shard on a
test machine), and port 8123 may belong to another one, so a port is never trusted blindly."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlencode

from .url import ServerURL

# What tells two servers apart: the host name and version, the macros (shard and replica on a cluster),
# where the server keeps its data, and how long it has been up (seconds, compared with some slack).
IDENTITY = ("SELECT hostName() AS host, version() AS version, "
            "(SELECT groupArray(concat(macro, '=', substitution)) FROM system.macros) AS macros, "
            "(SELECT any(data_path) FROM system.tables WHERE database = 'system') AS data_path, "
            "uptime() AS uptime")
PROBE_SECONDS = 3.0


def tls_context(ca_certs: str | None, verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_certs)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def query(url: ServerURL, port: int, sql: str, timeout: float) -> str:
    """One query over HTTP; the text of the answer. Raises OSError (urllib's errors) on failure."""
    scheme = "https" if url.secure else "http"
    request = urllib.request.Request(f"{scheme}://{url.host}:{port}/?{urlencode({'query': sql})}")
    token = base64.b64encode(f"{url.user}:{url.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    context = tls_context(url.ca_certs, url.verify) if url.secure else None
    with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
        return answer.read().decode()


def identity_over_http(url: ServerURL, port: int, timeout: float = PROBE_SECONDS) -> dict | None:
    """The identity the server on `port` reports, or None when nothing (usable) answers there."""
    try:
        text = query(url, port, IDENTITY + " FORMAT JSONEachRow", timeout)
        return json.loads(text.splitlines()[0])
    except (OSError, ValueError, IndexError, urllib.error.HTTPError):
        return None


def same_server(native: dict, http: dict) -> bool:
    return (all(native[k] == http[k] for k in ("host", "version", "macros", "data_path"))
            and abs(int(native["uptime"]) - int(http["uptime"])) <= 5)
