"""A server sink's rows, copied window by window into an in-process chDB, so that a diff can run in pull
mode against any ClickHouse server: chDB reads Postgres through postgresql() and the server through its
HTTP interface (`url(…, 'Native')`), and the in-sink diff of pull_diff.py runs here unchanged. The server
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

from ..errors import RuntimeFailure
from ..secrets import scrub
from ..spec import COLUMNS
from .chdb import ChdbSink, open_path
from .pull import sql_string

DATABASE = "chsync_mirror"


def available() -> bool:
    """chDB is installed (the embedded extra)."""
    return importlib.util.find_spec("chdb") is not None


class Mirror(ChdbSink):
    """An embedded sink whose table holds one window of a server sink's rows at a time. It uses the chDB
    directory this process already holds (chDB allows one), else a temporary one removed on close."""

    def __init__(self, server):
        held = open_path()
        self._owned = None if held else tempfile.mkdtemp(prefix="chsync-mirror-")
        super().__init__(held or self._owned, dataclasses.replace(server.spec, database=DATABASE))
        self.server = server
        caps = server.capabilities
        columns = ", ".join(f"{c} {t}" for c, t in self.column_types(caps.time_precision, caps.low_cardinality))
        try:
            self.execute(f"CREATE DATABASE IF NOT EXISTS {self.db}")
            self.execute(f"DROP TABLE IF EXISTS {self.table}")
            self.execute(f"CREATE TABLE {self.table} ({columns}) ENGINE = Memory")  # written once per window
            self.refresh_capabilities()
        except BaseException:
            self.close()
            raise

    def day_rows(self, first: dt.date, last: dt.date) -> dict[dt.date, int]:
        """What the server holds (windows are planned before anything is copied)."""
        return self.server.day_rows(first, last)

    def hold(self, first: dt.date, last: dt.date) -> int:
        """Replace the mirror's rows with the server's raw rows of [first, last]; returns how many."""
        cols = ", ".join(COLUMNS)
        address, auth = self.server.http_export(
            f"SELECT {cols} FROM {self.server.read_table} WHERE {self.server.range_condition(first, last)} FORMAT Native")
        self.execute(f"TRUNCATE TABLE {self.table}")
        try:
            self.execute(f"INSERT INTO {self.table} ({cols}) SELECT {cols} "
                         f"FROM url({sql_string(address)}, 'Native', headers('Authorization' = {sql_string(auth)}))")
        except RuntimeFailure as e:
            text = scrub(str(e), auth, self.server.url.password)
            text = text[text.find("HTTP status code"):] if "HTTP status code" in text else text  # not the query
            raise RuntimeFailure(f"copying the sink's rows of {first} – {last} over HTTP (port "
                                 f"{self.server.url.http_port}; set http_port= in the sink URL if the server "
                                 f"uses another, or use --mode push) failed: {text}") from None
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
