"""A ClickHouse server over the native protocol (clickhouse-driver), from 18.16 (the seed's era) to current
versions. What the server can do is read once into Capabilities (FEATURES is the only place that knows
versions). A cluster is the subclass in cluster.py."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

import pyarrow as pa

from .. import log
from ..errors import RuntimeFailure
from ..spec.model import TableSpec
from .base import ClickHouseSink
from .capabilities import Capabilities
from .chdb import time_precision
from .ddl import engine_clause
from .url import ServerURL

if TYPE_CHECKING:
    from clickhouse_driver import Client

T = TypeVar("T")

# feature -> first (major, minor) version that has it
FEATURES = {
    "lightweight_delete": (23, 3),
    "replace_partition_on_cluster": (20, 1),
    "datetime64": (20, 1),
    "postgresql_function": (21, 3),
    "insert_deduplication_token": (22, 2),
    "low_cardinality": (19, 9),
}
# clickhouse-driver logs every failed connection attempt with a traceback; chsync reports one line.
logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)

RETRY_SECONDS = 60
# KEEPER_EXCEPTION (Session expired, Connection loss), TABLE_IS_READ_ONLY: ZooKeeper is coming back;
# TOO_FEW_LIVE_REPLICAS, UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE, UNKNOWN_STATUS_OF_INSERT (the quorum timed out):
# a node that was away is re-joining (the lock's quorum writes wait for it).
UNKNOWN_INSERT_STATUS = 319   # an insert's quorum timed out
QUORUM_CODES = {285, 286, UNKNOWN_INSERT_STATUS}
_TRANSIENT_CODES = {999, 242} | QUORUM_CODES
# ALL_CONNECTION_TRIES_FAILED, NETWORK_ERROR, SOCKET_TIMEOUT: a remote shard did not answer;
# TIMEOUT_EXCEEDED: an ON CLUSTER statement waited for a host that is down.
CONNECTION_CODES = {279, 210, 209, 159}


def _version_tuple(version: str) -> tuple[int, int]:
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def has(version: str, feature: str) -> bool:
    return _version_tuple(version) >= FEATURES[feature]


class _Transient(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(f"code {code}: {message}")
        self.code = code


class ServerSink(ClickHouseSink):
    def __init__(self, url: ServerURL, spec: TableSpec, display_url: str):
        super().__init__(spec, display_url)
        self.url = url
        self._client: Any = None
        self._node_clients: dict[tuple[str, int], Any] = {}

    def clone(self) -> ServerSink:
        """The same sink with its own connections, for another thread (a driver Client is single-threaded)."""
        twin = type(self)(self.url, self.spec, self.display_url)
        twin._caps, twin.stage_suffix = self._caps, self.stage_suffix
        return twin

    # -- transport -----------------------------------------------------------------------------
    def _connect(self, host: str, port: int, timeout: float | None = None, *, listed: bool = False) -> Client:
        """A client of one node; `listed`: `port` is the native port system.clusters gives (see node_port)."""
        from clickhouse_driver import Client
        if listed:
            port = self.url.node_port(port)
        tls = {"secure": True, "verify": self.url.verify, "ca_certs": self.url.ca_certs} if self.url.secure else {}
        timeout = timeout or self.url.timeout
        return Client(host=host, port=port, user=self.url.user, password=self.url.password,
                      connect_timeout=self.url.connect_timeout, send_receive_timeout=timeout,
                      sync_request_timeout=min(30.0, timeout), **tls,
                      # the server's own waits on other nodes (a Distributed read or insert, ON CLUSTER DDL)
                      # end sooner than ours, so its error names the node that did not answer
                      settings={"insert_distributed_sync": 1, "max_query_size": 268435456,
                                "distributed_ddl_task_timeout": max(1, int(timeout * 0.8)),
                                "connect_timeout_with_failover_ms": int(self.url.connect_timeout * 1000),
                                "receive_timeout": max(1, int(timeout * 0.8)),
                                "send_timeout": max(1, int(timeout * 0.8))})

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self._connect(self.url.host, self.url.port)
        return self._client

    def close(self) -> None:
        for c in [self._client, *self._node_clients.values()]:
            if c is not None:
                try:
                    c.disconnect()
                except Exception:
                    pass
        self._client, self._node_clients = None, {}

    def _call(self, fn: Callable[[], T], sql: str, where: str = "") -> T:
        """Runs fn(); transient ZooKeeper errors (a restarted ZooKeeper expires every session; tables are
        read-only until the server reconnects) are retried for up to RETRY_SECONDS. Every statement chsync
        sends is safe to repeat, and a repeated insert into staging would fail the staging check."""
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                return self._call_once(fn, where)
            except _Transient as e:
                self.on_transient(e.code)
                if time.monotonic() > deadline:
                    raise RuntimeFailure(f"ClickHouse{where} kept failing for {RETRY_SECONDS}s: {e}") from None
                log.info(f"ClickHouse{where}: {e}; retrying")
                time.sleep(1.0)

    def _call_once(self, fn: Callable[[], T], where: str) -> T:
        from clickhouse_driver import errors
        at = where or f" at {self.display_url}"
        try:
            return fn()
        except errors.ServerException as e:
            if e.code in _TRANSIENT_CODES:
                raise _Transient(e.code, _server_reason(e.message)[:200]) from None
            self.on_server_error(e.code, where)
            raise RuntimeFailure(f"ClickHouse{where} rejected a query (code {e.code}): "
                                 f"{_server_reason(e.message)[:300]}") from None
        except (errors.SocketTimeoutError, TimeoutError):   # the driver raises either for a silent socket
            if not where:
                self.on_timeout()
            raise RuntimeFailure(f"ClickHouse{at} did not answer within {self.url.timeout:g}s (timeout= in the "
                                 "sink URL): the server is hung or overloaded") from None
        except (errors.NetworkError, EOFError, OSError) as e:
            raise RuntimeFailure(f"cannot reach ClickHouse{at}: {_network_reason(e)}") from None
        except errors.Error as e:
            raise RuntimeFailure(f"ClickHouse{where} failed: {_network_reason(e)}") from None

    def on_server_error(self, code: int, where: str) -> None:
        """A cluster names the shard that is down when a distributed query failed to reach one."""

    def on_timeout(self) -> None:
        """A cluster names the shard that does not answer when the node chsync talks to went silent."""

    def on_transient(self, code: int) -> None:
        """Before a retry: a cluster stops retrying a quorum write when one of its nodes does not answer."""

    def probe(self, node: tuple[str, int]) -> str | None:
        """None when `node` answers a trivial query within the connect timeout, else why not."""
        client = self._connect(*node, timeout=self.url.connect_timeout, listed=True)
        try:
            client.execute("SELECT 1")
            return None
        except Exception as e:  # any failure is the answer
            return _network_reason(e) or type(e).__name__
        finally:
            client.disconnect()

    def execute(self, sql: str) -> None:
        self._call(lambda: self.client.execute(sql), sql)

    def rows(self, sql: str) -> list[tuple]:
        return self._call(lambda: self.client.execute(sql), sql)

    def arrow(self, sql: str) -> pa.Table:
        def run() -> pa.Table:
            data, types = self.client.execute(sql, with_column_types=True, columnar=True)
            return pa.table({name: list(col) for (name, _), col in zip(types, data)} if data else
                            {name: [] for name, _ in types})
        return self._call(run, sql)

    def insert_arrow(self, table: str, data: pa.Table, settings: dict | None = None) -> None:
        names = [c for c in self.spec.names if c in data.column_names]
        columns = [data.column(c).to_pylist() for c in names]
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES"
        self._call(lambda: self.client.execute(sql, columns, columnar=True, settings=settings or {}), sql)

    def insert_rows(self, table: str, rows: list[tuple], settings: dict | None = None) -> None:
        # The native protocol sends INSERT data as blocks; VALUES in the query text would wait forever.
        sql = f"INSERT INTO {table} VALUES"
        self._call(lambda: self.client.execute(sql, rows, settings=settings or {}), sql)

    def node_client(self, node: tuple[str, int]) -> Client:
        if node not in self._node_clients:
            self._node_clients[node] = self._connect(*node, listed=True)
        return self._node_clients[node]

    def on_node(self, node: tuple[str, int], sql: str, settings: dict | None = None) -> list[tuple]:
        client = self.node_client(node)
        return self._call(lambda: client.execute(sql, settings=settings), sql, f" at {self.where(node)}")

    def where(self, node: tuple[str, int]) -> str:
        """host:port as the user reaches the node."""
        return f"{node[0]}:{self.url.node_port(node[1])}"

    def http_export(self, sql: str, port: int) -> tuple[str, str]:
        """(address, Authorization header) at which this server answers `sql` over its HTTP interface on
        `port`, for a reader that copies rows out (the diff's chDB mirror). No credentials in the address."""
        scheme = "https" if self.url.secure else "http"
        token = base64.b64encode(f"{self.url.user}:{self.url.password}".encode()).decode()
        return f"{scheme}://{self.url.host}:{port}/?{urlencode({'query': sql})}", f"Basic {token}"

    def http_endpoint(self) -> tuple[int | None, str | None]:
        """(port, None) when the HTTP interface answers as this very server within a few seconds, else
        (None, why not): the named http_port, or the default 8123 (8443 with TLS)."""
        from .http import IDENTITY, PROBE_SECONDS, identity_over_http, same_server
        port = self.url.http_port or self.url.default_http_port
        named = "the sink URL's http_port" if self.url.http_port else "the default HTTP port"
        found = identity_over_http(self.url, port, min(PROBE_SECONDS, self.url.connect_timeout))
        if found is None:
            return None, f"{named} {self.url.host}:{port} does not answer over HTTP{'S' if self.url.secure else ''}"
        names = ("host", "version", "macros", "data_path", "uptime")
        native = dict(zip(names, self.rows(IDENTITY)[0]))
        native["macros"] = list(native["macros"])
        if not same_server(native, found):
            return None, f"{named} {self.url.host}:{port} belongs to another ClickHouse server"
        return port, None

    # -- capabilities ----------------------------------------------------------------------------
    def table_info(self, name: str) -> tuple[str, str, dict]:
        """(engine_full, partition key, {column: type}) of a table of the sink database, or ('', '', {})."""
        found = self.rows(f"SELECT engine_full FROM system.tables WHERE database = '{self.db}' AND name = '{name}'")
        if not found:
            return "", "", {}
        engine_full = found[0][0]
        types = dict(self.rows(f"SELECT name, type FROM system.columns WHERE database = '{self.db}' "
                               f"AND table = '{name}'"))
        return engine_full, engine_clause(engine_full, "PARTITION BY"), types

    def base_capabilities(self, version: str) -> dict:
        engine, partition_key, types = self.table_info(self.spec.sink.table)
        precision = time_precision(self.spec, types, 3 if has(version, "datetime64") else 0)
        partition_key = partition_key or self.partition_expr(self.spec.sink.partition)
        return dict(
            version=version, time_precision=precision, partition_key=partition_key,
            partition_grain=self.grain_of(partition_key),
            replicated=engine.startswith("Replicated") if engine else bool(self.url.replicated),
            lightweight_delete=has(version, "lightweight_delete"),
            postgresql_function=has(version, "postgresql_function"),
            http_copy=True,
            low_cardinality=has(version, "low_cardinality"),
            insert_deduplication_token=has(version, "insert_deduplication_token"),
            mutation_fail_reason=bool(self.rows("SELECT count() FROM system.columns WHERE database = 'system' "
                                                "AND table = 'mutations' AND name = 'latest_fail_reason'")[0][0]))

    def detect_capabilities(self) -> Capabilities:
        version = self.rows("SELECT version()")[0][0]
        return Capabilities(backend="server", **self.base_capabilities(version))

    def pending_mutations(self) -> list[dict]:
        reason = "latest_fail_reason" if self.capabilities.mutation_fail_reason else "''"
        rows = self.rows(f"SELECT mutation_id, command, create_time, {reason} FROM system.mutations "
                         f"WHERE database = '{self.db}' AND table = '{self.spec.sink.table}' AND is_done = 0")
        return [{"mutation_id": m, "command": c, "created": str(t), "fail_reason": f} for m, c, t, f in rows]

    def insert_day(self, day: dt.date, data: pa.Table, token: str) -> None:
        if not data.num_rows:
            return
        # A re-insert of an identical block after a delete can be silently dropped by replicated
        # dedup (ClickHouse #27602): a unique token per (run, day), or no dedup where tokens don't exist.
        settings = ({"insert_deduplication_token": token} if self.capabilities.insert_deduplication_token
                    else {"insert_deduplicate": 0})
        self.insert_arrow(self.read_table, data, settings)


def _first_line(text: object) -> str:
    text = str(text or "").strip()
    return text.splitlines()[0] if text else ""


def _server_reason(message: object) -> str:
    """The server's own words, without its stack trace."""
    text = _first_line(message).split("Stack trace:")[0].strip().rstrip(".")
    return text.removeprefix("DB::Exception: ")


def _network_reason(e: Exception) -> str:
    """The driver's message without its stack-trace tail."""
    text = _first_line(e) or type(e).__name__
    return text.split(". Stack trace:")[0]
