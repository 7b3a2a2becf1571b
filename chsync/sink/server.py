"""A ClickHouse server (single node or cluster) over the native protocol (clickhouse-driver).

Works from 18.16 (the seed's era) to current versions: what the server can do is read once into
Capabilities (FEATURES below is the only place that knows versions); the methods then follow them.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import logging
import re
import time
import uuid
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pyarrow as pa

from .. import log
from ..errors import BadInput, RuntimeFailure
from ..secrets import redact_url
from ..spec import COLUMNS, IDENTIFIER, Spec
from .base import ClickHouseSink
from .capabilities import Capabilities

# feature -> first (major, minor) version that has it
FEATURES = {
    "lightweight_delete": (23, 3),
    "mutations_sync": (19, 16),
    "replace_partition_on_cluster": (20, 1),
    "datetime64": (20, 1),
    "postgresql_function": (21, 3),
    "insert_deduplication_token": (22, 2),
    "low_cardinality": (19, 9),
    "exchange_tables": (21, 8),
}
# clickhouse-driver logs every failed connection attempt with a traceback; chsync reports one line.
logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)

RETRY_SECONDS = 60
# KEEPER_EXCEPTION (Session expired, Connection loss), TABLE_IS_READ_ONLY: ZooKeeper is coming back.
_TRANSIENT_CODES = {999, 242}
# ALL_CONNECTION_TRIES_FAILED, NETWORK_ERROR, SOCKET_TIMEOUT: a remote shard did not answer;
# TIMEOUT_EXCEEDED: an ON CLUSTER statement waited for a host that is down.
_CONNECTION_CODES = {279, 210, 209, 159}
_URL_PARAMS = {"cluster", "secure", "distributed", "replicated", "connect_timeout", "http_port"}


def _version_tuple(version: str) -> tuple[int, int]:
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def _has(version: str, feature: str) -> bool:
    return _version_tuple(version) >= FEATURES[feature]


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
    connect_timeout: float
    distributed: str | None = None
    http_port: int = 8123


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
    unknown = set(params) - _URL_PARAMS
    if unknown:
        raise BadInput(f"sink {shown!r} has unknown parameter(s) {', '.join(sorted(unknown))}: "
                       f"known are {', '.join(sorted(_URL_PARAMS))}")
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

    secure = bool(flag("secure")) or parts.scheme == "clickhouses"
    try:
        timeout = float(params.get("connect_timeout", 10))
    except ValueError:
        raise BadInput(f"sink {shown!r}: connect_timeout must be a number of seconds") from None
    http_port = params.get("http_port", "8443" if secure else "8123")
    if not http_port.isdigit() or not 0 < int(http_port) < 65536:
        raise BadInput(f"sink {shown!r}: http_port={http_port!r} must be a port number (the server's HTTP "
                       "interface, 8123 by default)")
    return ServerURL(parts.hostname, port or (9440 if secure else 9000), unquote(parts.username or "default"),
                     unquote(parts.password or ""), database, params.get("cluster"), secure, flag("replicated"),
                     timeout, params.get("distributed"), int(http_port))


class _Transient(Exception):
    pass


def spec_for_url(url: str, spec: Spec) -> Spec:
    """The spec as this URL amends it (a /database path, a distributed= parameter)."""
    parsed = parse_url(url)
    if parsed.database:
        spec = dataclasses.replace(spec, database=parsed.database)
    if parsed.distributed:
        spec = dataclasses.replace(spec, distributed_table=parsed.distributed)
    return spec


class ServerSink(ClickHouseSink):
    def __init__(self, url: ServerURL, spec: Spec, display_url: str):
        super().__init__(spec, display_url)
        self.url = url
        self._client = None
        self._shard_clients: dict[tuple[str, int], object] = {}

    @classmethod
    def from_url(cls, url: str, spec: Spec) -> "ServerSink":
        return cls(parse_url(url), spec_for_url(url, spec), redact_url(url))

    def clone(self) -> "ServerSink":
        """The same sink with its own connections, for another thread (a driver Client is single-threaded)."""
        twin = ServerSink(self.url, self.spec, self.display_url)
        twin._caps = self._caps
        return twin

    # -- transport -----------------------------------------------------------------------------
    def _connect(self, host: str, port: int):
        from clickhouse_driver import Client
        return Client(host=host, port=port, user=self.url.user, password=self.url.password,
                      secure=self.url.secure, connect_timeout=self.url.connect_timeout,
                      send_receive_timeout=600, sync_request_timeout=30,
                      settings={"insert_distributed_sync": 1, "max_query_size": 268435456,
                                "distributed_ddl_task_timeout": 60})

    @property
    def client(self):
        if self._client is None:
            self._client = self._connect(self.url.host, self.url.port)
        return self._client

    def close(self) -> None:
        for c in [self._client, *self._shard_clients.values()]:
            if c is not None:
                try:
                    c.disconnect()
                except Exception:  # noqa: BLE001 - closing a broken connection
                    pass
        self._client, self._shard_clients = None, {}

    def _call(self, fn, sql: str, where: str = ""):
        """Runs fn(); transient ZooKeeper errors (a restarted ZooKeeper expires every session; tables are
        read-only until the server reconnects) are retried for up to RETRY_SECONDS. Every statement chsync
        sends is safe to repeat, and a repeated insert into staging would fail the staging check."""
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                return self._call_once(fn, where)
            except _Transient as e:
                if time.monotonic() > deadline:
                    raise RuntimeFailure(f"ClickHouse{where} kept failing for {RETRY_SECONDS}s: {e}") from None
                log.info(f"ClickHouse{where}: {e}; retrying")
                time.sleep(1.0)

    def _call_once(self, fn, where: str):
        from clickhouse_driver import errors
        try:
            return fn()
        except errors.ServerException as e:
            if e.code in _TRANSIENT_CODES:
                raise _Transient(f"code {e.code}: {str(e.message).strip().splitlines()[0][:200]}") from None
            first = str(e.message).strip().splitlines()[0] if e.message else str(e)
            if e.code in _CONNECTION_CODES and self.url.cluster and not where:
                self.check_reachable()  # names the shard that is down, when one is
            raise RuntimeFailure(f"ClickHouse{where} rejected a query (code {e.code}): {first[:300]}") from None
        except (errors.NetworkError, errors.SocketTimeoutError, EOFError, OSError) as e:
            raise RuntimeFailure(f"cannot reach ClickHouse{where or ' at ' + self.display_url}: {e}") from None
        except errors.Error as e:
            raise RuntimeFailure(f"ClickHouse{where} failed: {e}") from None

    def execute(self, sql: str) -> None:
        self._call(lambda: self.client.execute(sql), sql)

    def rows(self, sql: str) -> list[tuple]:
        return self._call(lambda: self.client.execute(sql), sql)

    def arrow(self, sql: str) -> pa.Table:
        def run():
            data, types = self.client.execute(sql, with_column_types=True, columnar=True)
            return pa.table({name: list(col) for (name, _), col in zip(types, data)} if data else
                            {name: [] for name, _ in types})
        return self._call(run, sql)

    def insert_arrow(self, table: str, data: pa.Table, settings: dict | None = None) -> None:
        columns = [data.column(c).to_pylist() for c in COLUMNS]
        sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES"
        self._call(lambda: self.client.execute(sql, columns, columnar=True, settings=settings or {}), sql)

    def insert_rows(self, table: str, rows: list[tuple]) -> None:
        # The native protocol sends INSERT data as blocks; VALUES in the query text would wait forever.
        sql = f"INSERT INTO {table} VALUES"
        self._call(lambda: self.client.execute(sql, rows), sql)

    def http_export(self, sql: str) -> tuple[str, str]:
        """(address, Authorization header) at which this server answers `sql` over its HTTP interface, for
        a reader that copies rows out (the diff's chDB mirror). The address carries no credentials."""
        scheme = "https" if self.url.secure else "http"
        token = base64.b64encode(f"{self.url.user}:{self.url.password}".encode()).decode()
        return f"{scheme}://{self.url.host}:{self.url.http_port}/?{urlencode({'query': sql})}", f"Basic {token}"

    def check_reachable(self) -> None:
        if not self.url.cluster:
            return
        for number, shard in enumerate(self.shards(), 1):
            try:
                self.on_shard(shard, "SELECT 1")
            except RuntimeFailure as e:
                raise RuntimeFailure(f"shard {number} ({shard[0]}:{shard[1]}) of cluster {self.url.cluster} is "
                                     f"unreachable ({e}); days already checked stay done: resume the run once "
                                     "the shard is back") from None

    def _shard_client(self, shard: tuple[str, int]):
        if shard not in self._shard_clients:
            self._shard_clients[shard] = self._connect(*shard)
        return self._shard_clients[shard]

    def on_shard(self, shard: tuple[str, int], sql: str) -> None:
        client = self._shard_client(shard)
        self._call(lambda: client.execute(sql), sql, f" shard {shard[0]}:{shard[1]}")

    def duplicate_split(self, first: dt.date, last: dt.date) -> dict[str, int]:
        dups = self.duplicate_ids(first, last)
        if not self.url.cluster or not dups:
            return {"same_shard": len(dups), "cross_shard": 0}
        ids = ", ".join(f"'{uuid.UUID(k)}'" for k in dups)
        shards_per_id: dict[str, int] = {}
        for shard in self.shards():
            client = self._shard_client(shard)
            for (key,) in self._call(lambda c=client: c.execute(
                    f"SELECT DISTINCT toString(conversation_id) FROM {self.table} WHERE conversation_id IN ({ids})"),
                    "", f" shard {shard[0]}:{shard[1]}"):
                shards_per_id[key] = shards_per_id.get(key, 0) + 1
        cross = sum(1 for n in shards_per_id.values() if n > 1)
        return {"same_shard": len(dups) - cross, "cross_shard": cross}

    # -- capabilities ----------------------------------------------------------------------------
    def detect_capabilities(self) -> Capabilities:
        version = self.rows("SELECT version()")[0][0]
        shards, sharding_key, distributed = 1, None, False
        if self.url.cluster:
            topology = self.shards()
            if not topology:
                raise BadInput(f"cluster {self.url.cluster!r} is not defined on {self.display_url}: "
                               "see system.clusters")
            shards = len(topology)
        engine, partition_key, types = self._table_info(self.spec.table)
        dist_engine = self._table_info(self.spec.distributed_table)[0] if self.url.cluster else ""
        if dist_engine.startswith("Distributed"):
            distributed = True
            args = [a.strip() for a in dist_engine[dist_engine.index("(") + 1: dist_engine.rindex(")")].split(",", 3)]
            sharding_key = args[3] if len(args) > 3 else None
        elif self.url.cluster:
            distributed = True
            sharding_key = self.spec.sharding_key
        if engine:
            replicated = engine.startswith("Replicated")
            precision = 3 if types.get("ended_at", "").startswith("DateTime64") else 0
            low_card = types.get("source_type", "").startswith("LowCardinality")
        else:
            replicated = self.url.replicated if self.url.replicated is not None else bool(self.url.cluster)
            precision = 3 if _has(version, "datetime64") else 0
            low_card = _has(version, "low_cardinality")
        return Capabilities(
            backend="server", version=version, time_precision=precision,
            partition_key=partition_key or "toYYYYMMDD(ended_at)", cluster=self.url.cluster, shards=shards,
            replicated=replicated, distributed=distributed, sharding_key=sharding_key,
            lightweight_delete=_has(version, "lightweight_delete"), mutations_sync=_has(version, "mutations_sync"),
            replace_partition_on_cluster=_has(version, "replace_partition_on_cluster"),
            exchange_tables=_has(version, "exchange_tables"), postgresql_function=_has(version, "postgresql_function"),
            low_cardinality=low_card, insert_deduplication_token=_has(version, "insert_deduplication_token"),
            mutation_fail_reason=bool(self.rows("SELECT count() FROM system.columns WHERE database = 'system' "
                                                "AND table = 'mutations' AND name = 'latest_fail_reason'")[0][0]))

    def _table_info(self, name: str) -> tuple[str, str, dict]:
        """(engine_full, partition key, {column: type}) of a table of the sink database, or ('', '', {})."""
        found = self.rows(f"SELECT engine_full FROM system.tables WHERE database = '{self.db}' AND name = '{name}'")
        if not found:
            return "", "", {}
        engine_full = found[0][0]
        m = re.search(r"PARTITION BY (.+?)(?: ORDER BY| PRIMARY KEY| SAMPLE BY| SETTINGS| TTL|$)", engine_full)
        types = dict(self.rows(f"SELECT name, type FROM system.columns WHERE database = '{self.db}' "
                               f"AND table = '{name}'"))
        return engine_full, (m.group(1).strip() if m else ""), types

    def shards(self) -> list[tuple[str, int]]:
        """(host, tcp port) of the first replica of each shard of the cluster."""
        rows = self.rows(f"SELECT shard_num, host_address, port FROM system.clusters "
                         f"WHERE cluster = '{self.url.cluster}' AND replica_num = 1 ORDER BY shard_num")
        return [(host, int(port)) for _, host, port in rows]

    # -- cluster-aware SQL -----------------------------------------------------------------------
    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER {self.url.cluster}" if self.url.cluster else ""

    def _distributed_sql(self, name: str, local: str) -> str:
        key = self.capabilities.sharding_key or self.spec.sharding_key
        db, table = local.split(".")
        return (f"CREATE TABLE IF NOT EXISTS {name}{self.on_cluster} AS {local} "
                f"ENGINE = Distributed({self.url.cluster}, {db}, {table}, {key})")

    def init(self) -> list[str]:
        caps = self.capabilities
        statements = [f"CREATE DATABASE IF NOT EXISTS {self.db}{self.on_cluster}",
                      self.create_local_table_sql(self.table, caps, replicated=caps.replicated)]
        if self.url.cluster:
            statements.append(self._distributed_sql(f"{self.db}.{self.spec.distributed_table}", self.table))
        for sql in statements:
            self.execute(sql)
        self.refresh_capabilities()
        return statements

    def stage_read_table(self, day: dt.date) -> str:
        return f"{self.stage_table(day)}_d" if self.url.cluster else self.stage_table(day)

    def stage_statements(self, day: dt.date) -> list[str]:
        stage = self.stage_table(day)
        create = self.create_local_table_sql(stage, self.capabilities, replicated=False, if_not_exists=False)
        statements = [*self.drop_stage_statements(day), create]
        if self.url.cluster:
            statements.append(self._distributed_sql(self.stage_read_table(day), stage))
        return statements

    def drop_stage_statements(self, day: dt.date) -> list[str]:
        tables = [self.stage_read_table(day)] if self.url.cluster else []
        return [f"DROP TABLE IF EXISTS {t}{self.on_cluster}" for t in [*tables, self.stage_table(day)]]

    def swap_statements(self, day: dt.date) -> list[str]:
        sql = f"ALTER TABLE {self.table}{{on}} REPLACE PARTITION {self.partition_literal(day)} FROM {self.stage_table(day)}"
        if not self.url.cluster:
            return [sql.format(on="")]
        if self.capabilities.replace_partition_on_cluster:
            return [sql.format(on=self.on_cluster)]
        return [f"-- on shard {h}:{p}\n" + sql.format(on="") for h, p in self.shards()]

    def swap_in(self, day: dt.date) -> None:
        for statement in self.swap_statements(day):
            if statement.startswith("-- on shard "):
                target, sql = statement[len("-- on shard "):].split("\n", 1)
                host, port = target.rsplit(":", 1)
                self.on_shard((host, int(port)), sql)
            else:
                self.execute(statement)

    def drop_day_statements(self, day: dt.date) -> list[str]:
        return [f"ALTER TABLE {self.table}{self.on_cluster} DROP PARTITION {self.partition_literal(day)}"]

    def delete_where_statements(self, condition: str) -> list[str]:
        if self.capabilities.lightweight_delete:
            return [f"DELETE FROM {self.table}{self.on_cluster} WHERE {condition}"]
        return [f"ALTER TABLE {self.table}{self.on_cluster} DELETE WHERE {condition}"]

    def pending_mutations(self) -> list[dict]:
        source = f"cluster('{self.url.cluster}', system.mutations)" if self.url.cluster else "system.mutations"
        host = "hostName()" if self.url.cluster else "''"
        reason = "latest_fail_reason" if self.capabilities.mutation_fail_reason else "''"
        rows = self.rows(f"SELECT mutation_id, command, create_time, {reason}, {host} FROM {source} "
                         f"WHERE database = '{self.db}' AND table = '{self.spec.table}' AND is_done = 0")
        return [{"mutation_id": m, "command": c, "created": str(t), "fail_reason": f, "shard": h}
                for m, c, t, f, h in rows]

    def insert_day(self, day: dt.date, data: pa.Table, token: str) -> None:
        if not data.num_rows:
            return
        # A re-insert of an identical block after a delete can be silently dropped by replicated
        # dedup (ClickHouse #27602): a unique token per (run, day), or no dedup where tokens don't exist.
        settings = ({"insert_deduplication_token": token} if self.capabilities.insert_deduplication_token
                    else {"insert_deduplicate": 0})
        self.insert_arrow(self.read_table, data, settings)


