"""A server sink's rows, copied window by window into an in-process chDB, so that a diff can run in pull
mode against any ClickHouse server: chDB reads Postgres through postgresql() and the server through its
HTTP interface (`url(…, 'Native')`), and the in-sink diff of insink.py runs here unchanged. The server
only answers one plain SELECT per window: 18.16 has no postgresql() table function, and a server may not
reach Postgres at all, while this process does.

The copy is the server's raw rows (no FINAL: duplicates are kept, on every shard through the Distributed
table), checked against the server's own count before anything is compared. The credentials travel in an
Authorization header, never in the address, and are scrubbed from errors.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from ..errors import RuntimeFailure
from ..secrets import scrub
from ..sink.chdb import ChdbSink, open_path
from ..watchdog import guard
from .transpile import sql_string

if TYPE_CHECKING:
    from ..sink.server import ServerSink
    from ..sink.url import ServerURL

DATABASE = "chsync_mirror"
# chDB's url() retries a refused or silent port for minutes by default: a copy either starts at once or
# fails, and a stalled transfer ends after HTTP_TIMEOUT seconds.
HTTP_SETTINGS = ("SETTINGS http_max_tries = 1, http_connection_timeout = {connect}, "
                 "http_receive_timeout = {timeout}, http_send_timeout = {timeout}")


def tls_config(folder: str, url: ServerURL) -> str:
    """A configuration file for chDB's https client: trust the sink URL's CA bundle (ca_certs=), or check
    nothing (verify=0), as the native connection does."""
    client = (f"<caConfig>{escape(url.ca_certs)}</caConfig><loadDefaultCAFile>false</loadDefaultCAFile>"
              if url.ca_certs else "<loadDefaultCAFile>true</loadDefaultCAFile>")
    mode = "strict" if url.verify else "none"
    path = f"{folder}.config.xml"
    with open(path, "w") as f:
        f.write(f"<clickhouse><openSSL><client>{client}<verificationMode>{mode}</verificationMode>"
                f"<invalidCertificateHandler><name>RejectCertificateHandler</name></invalidCertificateHandler>"
                f"</client></openSSL></clickhouse>\n")
    return path


def available() -> bool:
    """chDB is installed (the embedded extra)."""
    return importlib.util.find_spec("chdb") is not None


class Mirror(ChdbSink):
    """An embedded sink whose table holds one window of a server sink's rows at a time. It uses the chDB
    directory this process already holds (chDB allows one), else a temporary one removed on close."""

    def __init__(self, server: ServerSink, http_port: int) -> None:
        held = open_path()
        self._owned = None if held else tempfile.mkdtemp(prefix="chsync-mirror-")
        spec = server.spec.with_sink(database=DATABASE)
        config = tls_config(self._owned, server.url) if self._owned and server.url.secure else None
        super().__init__(held or self._owned or "", spec, config)
        self.server, self.http_port = server, http_port
        found = server.columns_found()
        columns = ", ".join(f"{c} {found[c]}" for c in spec.names)
        try:
            self.execute(f"CREATE DATABASE IF NOT EXISTS {self.db}")
            self.execute(f"DROP TABLE IF EXISTS {self.table}")
            self.execute(f"CREATE TABLE {self.table} ({columns}) ENGINE = Memory")  # written once per window
            self._caps = dataclasses.replace(self.detect_capabilities(),
                                             time_precision=server.capabilities.time_precision,
                                             partition_key=server.capabilities.partition_key,
                                             partition_grain=server.capabilities.partition_grain)
        except BaseException:
            self.close()
            raise

    def day_rows(self, first: dt.date, last: dt.date) -> dict[dt.date, int]:
        """What the server holds (windows are planned before anything is copied)."""
        return self.server.day_rows(first, last)

    def hold(self, first: dt.date, last: dt.date) -> int:
        """Replace the mirror's rows with the server's raw rows of [first, last]; returns how many."""
        cols = ", ".join(self.spec.names)
        address, auth = self.server.http_export(
            f"SELECT {cols} FROM {self.server.read_table} WHERE {self.server.range_condition(first, last)} "
            "FORMAT Native", self.http_port)
        self.execute(f"TRUNCATE TABLE {self.table}")
        settings = HTTP_SETTINGS.format(connect=self.server.url.connect_timeout, timeout=self.server.url.timeout)
        url = self.server.url
        try:
            with guard(url.connect_timeout + url.timeout + 5, f"ClickHouse HTTP at {url.host}:{self.http_port}"):
                self.execute(f"INSERT INTO {self.table} ({cols}) SELECT {cols} FROM url({sql_string(address)}, "
                             f"'Native', headers('Authorization' = {sql_string(auth)})) {settings}")
        except RuntimeFailure as e:
            self.server.check_reachable()   # a shard that went silent behind the server is named first
            text = scrub(str(e), auth, self.server.url.password)
            text = text[text.find("HTTP status code"):] if "HTTP status code" in text else text  # not the query
            raise RuntimeFailure(f"copying the sink's rows of {first} – {last} over HTTP (port {self.http_port} "
                                 f"of {self.server.url.host}; set http_port= in the sink URL if the server uses "
                                 f"another, or use --mode push) failed: {text}") from None
        copied = int(self.rows(f"SELECT count() FROM {self.table}")[0][0])
        expected = sum(self.server.day_rows(first, last).values())
        if copied != expected:
            raise RuntimeFailure(f"the sink's rows of {first} – {last} changed while they were copied "
                                 f"({copied:,} copied, {expected:,} there now): run the diff again when no "
                                 "job writes to the range")
        return copied

    def close(self) -> None:
        try:
            self.execute(f"DROP DATABASE IF EXISTS {self.db}")
        finally:
            if self._owned:
                super().close()
                shutil.rmtree(self._owned, ignore_errors=True)
                Path(f"{self._owned}.config.xml").unlink(missing_ok=True)
