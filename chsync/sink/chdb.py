"""Embedded sink: chDB in-process. chDB allows one process per directory and one directory per process
(docs/ARCHITECTURE.md, "Traps"): this module holds the one session and says so when another holds it."""

from __future__ import annotations

import copy
import datetime as dt
import fcntl
import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from ..errors import BadInput, Refused, RuntimeFailure
from ..spec.model import TableSpec
from .base import ClickHouseSink
from .canonical import time_type
from .capabilities import Capabilities

_PYTHON_TABLE_LOCK = threading.Lock()
_open: dict[str, Any] = {}  # path -> chdb Session; chDB allows one path per process


def _session(path: str, config: str | None = None) -> Any:
    """The process's chDB session on `path` (`config`: a configuration file for the engine, e.g. the CA to
    trust over https)."""
    try:
        from chdb import session as chdb_session
    except ImportError:
        raise RuntimeFailure("the embedded sink needs chDB: pip install 'chsync[embedded]'") from None
    if path in _open:
        return _open[path]
    if _open:
        other = next(iter(_open))
        raise RuntimeFailure(f"this process already holds chDB directory {other}; chDB allows one per process")
    Path(path).mkdir(parents=True, exist_ok=True)
    if _locked_by_another_process(path):
        raise _in_use(path)
    try:
        sess = chdb_session.Session(path + (f"?config-file={config}" if config else ""))
    except Exception as e:
        if "Cannot lock file" in str(e):
            raise _in_use(path) from None
        raise RuntimeFailure(f"cannot open chDB directory {path}: {_first_line(e)}") from None
    sess.query("SET max_query_size = 268435456")  # key lists of a whole day (repair, explain) exceed 256 KiB
    _open[path] = sess
    _write_holder(path)
    return sess


def holder_file(path: str) -> Path:
    """Beside the chDB directory: who has it open (chDB's own lock says only that someone has)."""
    return Path(path).with_name(Path(path).name + ".chsync-holder.json")


def _write_holder(path: str) -> None:
    from ..secrets import redact
    doc = {"pid": os.getpid(), "host": socket.gethostname(),
           "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "command": redact(" ".join(["chsync", *sys.argv[1:]]))}
    temp = holder_file(path).with_suffix(".tmp")
    try:
        temp.write_text(json.dumps(doc))
        temp.replace(holder_file(path))
    except OSError:
        pass  # naming the holder is a courtesy; the directory's own lock is what excludes


def _in_use(path: str) -> Refused:
    """Exit 3, naming the process that has the directory open when it left its name beside it."""
    try:
        held = json.loads(holder_file(path).read_text())
        who = f"pid {held['pid']} on {held['host']} (`{held['command']}`, since {held['since']})"
    except (OSError, ValueError, KeyError):
        who = "another process"
    return Refused(f"chDB directory {path} is in use by {who}: chDB lets one process at a time open it; wait "
                   "for it to finish or use another --sink directory")


def open_path() -> str | None:
    """The chDB directory this process holds, if any (chDB allows one)."""
    return next(iter(_open), None)


def _locked_by_another_process(path: str) -> bool:
    """chDB (like clickhouse-server) holds an flock on <dir>/status while a process has it open."""
    status = Path(path, "status")
    if not status.exists():
        return False
    with open(status, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class ChdbSink(ClickHouseSink):
    def __init__(self, path: str, spec: TableSpec, config: str | None = None):
        super().__init__(spec, f"chdb://{path}")
        self.path = path
        self._is_clone = False
        self.session = _session(path, config)

    @classmethod
    def from_url(cls, url: str, spec: TableSpec) -> ChdbSink:
        return cls(cls.path_of(url), spec)

    @staticmethod
    def path_of(url: str) -> str:
        """The directory a chdb:// URL names (nothing is opened)."""
        parts = urlsplit(url)
        raw = (parts.netloc + parts.path) if parts.netloc in ("", ".", "..", "~") else None
        if not raw:
            raise BadInput(f"sink {url!r} is not a chDB URL: use chdb:///absolute/dir or chdb://./relative/dir")
        return os.path.abspath(os.path.expanduser(raw))

    def clone(self) -> ChdbSink:
        """The same sink for another thread: chDB sessions take queries from several threads."""
        twin = copy.copy(self)
        twin._is_clone = True
        return twin

    def close(self) -> None:
        if getattr(self, "_is_clone", False):
            return  # the session belongs to the original
        sess = _open.pop(self.path, None)
        if sess is not None:
            sess.close()
            holder_file(self.path).unlink(missing_ok=True)

    def _run(self, sql: str, fmt: str = "CSV") -> Any:
        try:
            return self.session.query(sql, fmt)
        except Exception as e:
            raise RuntimeFailure(f"chDB query failed: {_first_line(e)}") from None

    def execute(self, sql: str) -> None:
        self._run(sql)

    def rows(self, sql: str) -> list[tuple]:
        table = self.arrow(sql)
        return list(zip(*(col.to_pylist() for col in table.columns))) if table.num_columns else []

    def arrow(self, sql: str) -> pa.Table:
        # Arrow IPC read here: chDB's own "ArrowTable" conversion imports pandas (0.3 s) on first use.
        result = self._run(sql, "Arrow")
        if len(result) == 0:
            return pa.table({})
        return pa.ipc.open_file(result.get_memview().view()).read_all()

    def insert_arrow(self, table: str, data: pa.Table, settings: dict | None = None) -> None:
        cols = ", ".join(c for c in self.spec.names if c in data.column_names)
        try:
            # chDB resolves Python(data) by name from the caller's frames; two threads inserting at once
            # can resolve each other's `data` (a day staged with another day's rows: seen with --workers 2).
            with _PYTHON_TABLE_LOCK:
                self.session.query(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM Python(data)")
        except Exception as e:
            raise RuntimeFailure(f"chDB insert into {table} failed: {_first_line(e)}") from None

    def release_memory(self) -> None:
        # chDB's allocator keeps freed pages for later queries: after a window of a diff this process's
        # resident size stays 100-200 MB above what it holds, and the next step's peak adds to it.
        try:
            self._run("SYSTEM JEMALLOC PURGE")
        except RuntimeFailure:
            pass   # a chDB built without jemalloc: nothing to give back this way
        super().release_memory()

    def prepare_pull(self) -> None:
        # postgresql() runs libpq inside this process: its session zone decides how timestamptz arrives, its
        # DateStyle how dates and times are written (a database set to 'SQL, DMY' gave rows ClickHouse could
        # not read: every pulled day came back empty), and extra_float_digits whether a double arrives whole
        # (a database set to 0 sends 15 digits: 0.30000000000000004 arrived as 0.3).
        os.environ["PGTZ"] = "UTC"
        os.environ["PGDATESTYLE"] = "ISO, YMD"
        options = os.environ.get("PGOPTIONS", "")
        if "extra_float_digits" not in options:
            os.environ["PGOPTIONS"] = f"{options} -c extra_float_digits=3".strip()

    def detect_capabilities(self) -> Capabilities:
        version = self.rows("SELECT version()")[0][0]
        partition_key, precision = self.partition_expr(self.spec.sink.partition), 3
        found = self.rows(f"SELECT partition_key FROM system.tables "
                          f"WHERE database = '{self.db}' AND name = '{self.spec.sink.table}'")
        if found:
            partition_key = found[0][0]
            precision = time_precision(self.spec, self.columns_found(), precision)
        return Capabilities(
            backend="chdb", version=version, time_precision=precision, partition_key=partition_key,
            partition_grain=self.grain_of(partition_key), lightweight_delete=True, postgresql_function=True,
            in_process=True)


def time_precision(spec: TableSpec, types: dict[str, str], default: int) -> int:
    """The digits of a second the table keeps: the fewest of its time columns (DateTime: 0, DateTime64(p):
    p), `default` without any. Every time is compared at that precision."""
    found = [kind[0] for col in spec.columns if col.type.is_time and col.name in types
             and (kind := time_type(types[col.name])) is not None]
    return min(found, default=default)
