"""A ClickHouse cluster: the local table on every shard (Replicated, with ZooKeeper, or plain), read and
written through its Distributed table; DDL and mutations ON CLUSTER; partitions replaced per shard where
the server cannot do it ON CLUSTER (18.16)."""

from __future__ import annotations

import datetime as dt

from ..errors import BadInput, RuntimeFailure
from . import ddl
from .base import Statement
from .capabilities import Capabilities
from .server import CONNECTION_CODES, QUORUM_CODES, ServerSink, has


class ClusterSink(ServerSink):
    @property
    def cluster(self) -> str:
        assert self.url.cluster is not None
        return self.url.cluster

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER {self.cluster}"

    @property
    def read_table(self) -> str:
        return f"{self.db}.{self.spec.sink.distributed_table}"

    def stage_read_table(self, day: dt.date) -> str:
        return f"{self.stage_table(day)}_d"

    # -- nodes ---------------------------------------------------------------------------------
    def shards(self) -> list[tuple[str, int]]:
        """(host, tcp port) of the first replica of each shard of the cluster (asked once: the probe of a
        silent node must not wait on that node again)."""
        if self._shards is None:
            rows = self.rows(f"SELECT shard_num, host_address, port FROM system.clusters "
                             f"WHERE cluster = '{self.cluster}' AND replica_num = 1 ORDER BY shard_num")
            self._shards = self._reachable_as_listed([(host, int(port)) for _, host, port in rows])
        return self._shards

    _shards: list[tuple[str, int]] | None = None
    _nodes: list[tuple[str, int]] | None = None

    def nodes(self) -> list[tuple[str, int]]:
        """(host, tcp port) of every replica of every shard."""
        if self._nodes is None:
            rows = self.rows(f"SELECT host_address, port FROM system.clusters WHERE cluster = '{self.cluster}' "
                             "ORDER BY shard_num, replica_num")
            self._nodes = self._reachable_as_listed([(host, int(port)) for host, port in rows])
        return self._nodes

    def _reachable_as_listed(self, nodes: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """With TLS a node is reached on the URL's port unless tls_ports= maps its listed native port: that
        is right when every node has its own host, and would send two nodes' statements to one when
        several share a host, so that case must name its ports."""
        if self.url.secure:
            unmapped = [n for n in nodes if n[1] not in dict(self.url.tls_ports)]
            hosts = [host for host, _ in unmapped]
            shared = sorted({h for h in hosts if hosts.count(h) > 1})
            if shared:
                listed = ",".join(f"{port}:TLS_PORT" for host, port in unmapped if host == shared[0])
                raise BadInput(f"cluster {self.cluster} has several nodes on {shared[0]}: with TLS, name each "
                               f"node's secure port in the sink URL, tls_ports={listed}")
        return nodes

    def all_nodes_settings(self) -> dict | None:
        # The server gives up waiting for the quorum before our socket does; the retry of the same block (a
        # replicated table deduplicates it) waits on until a re-joining node has caught up.
        return {"insert_quorum": len(self.nodes()), "insert_quorum_timeout": max(1000, int(self.url.timeout * 800))}

    def clone(self) -> ClusterSink:
        twin = super().clone()
        assert isinstance(twin, ClusterSink)
        twin._shards = self._shards
        return twin

    def check_reachable(self) -> None:
        """Every shard answers within the connect timeout, or the first that does not is named."""
        for number, shard in enumerate(self.shards(), 1):
            problem = self.probe(shard)
            if problem:
                raise RuntimeFailure(f"shard {number} ({shard[0]}:{self.url.node_port(shard[1])}) of cluster "
                                     f"{self.cluster} does not "
                                     f"answer ({problem}); days already checked stay done: resume the run once the "
                                     "shard is back")

    def on_server_error(self, code: int, where: str) -> None:
        if code in CONNECTION_CODES and not where:
            self.check_reachable()  # names the shard that is down, when one is

    def on_timeout(self) -> None:
        if self._shards is not None:
            self.check_reachable()

    def on_transient(self, code: int) -> None:
        if code not in QUORUM_CODES:
            return
        for node in self.nodes():  # a re-joining node answers and the write waits for it; a silent one is named
            problem = self.probe(node)
            if problem:
                raise RuntimeFailure(f"node {node[0]}:{self.url.node_port(node[1])} of cluster {self.cluster} "
                                     f"does not answer ({problem}); the lock is written to every node: run again "
                                     "once it is back")

    def duplicate_split(self, first: dt.date, last: dt.date) -> dict[str, int]:
        dups = self.duplicate_ids(first, last)
        if not dups:
            return {"same_shard": 0, "cross_shard": 0}
        shards_per_key: dict[str, int] = {}
        for shard in self.shards():
            for (key,) in self.on_node(shard, f"SELECT DISTINCT {self.key_text} FROM {self.table} "
                                              f"WHERE {self.spec.key} IN ({self.key_literals(dups)})"):
                shards_per_key[key] = shards_per_key.get(key, 0) + 1
        cross = sum(1 for n in shards_per_key.values() if n > 1)
        return {"same_shard": len(dups) - cross, "cross_shard": cross}

    # -- capabilities ----------------------------------------------------------------------------
    def detect_capabilities(self) -> Capabilities:
        version = self.rows("SELECT version()")[0][0]
        topology = self.shards()
        if not topology:
            raise BadInput(f"cluster {self.cluster!r} is not defined on {self.display_url}: see system.clusters")
        base = self.base_capabilities(version)
        engine = self.table_info(self.spec.sink.table)[0]
        if not engine:
            base["replicated"] = self.url.replicated if self.url.replicated is not None else True
        dist_engine = self.table_info(self.spec.sink.distributed_table)[0]
        sharding_key: str | None = self.spec.sink.sharding_key
        if dist_engine.startswith("Distributed"):
            args = [a.strip() for a in dist_engine[dist_engine.index("(") + 1: dist_engine.rindex(")")].split(",", 3)]
            sharding_key = args[3] if len(args) > 3 else None
        return Capabilities(backend="cluster", cluster=self.cluster, shards=len(topology), distributed=True,
                            sharding_key=sharding_key,
                            replace_partition_on_cluster=has(version, "replace_partition_on_cluster"), **base)

    # -- DDL -----------------------------------------------------------------------------------
    def _distributed_sql(self, name: str, local: str) -> str:
        return ddl.distributed_table(name, local, self.cluster, self.capabilities.sharding_key or
                                     self.spec.sink.sharding_key)

    def tables_of_the_table(self) -> list[str]:
        return [self.table, self.read_table]

    def migrate_statements(self) -> list[Statement]:
        """The local table ON CLUSTER; the Distributed table on each node by itself: 18.16 refuses an ALTER
        ON CLUSTER of a table that is not replicated on a cluster whose shards replicate internally (code
        371), and a Distributed table's columns are each node's own metadata anyway."""
        added = self.schema_change().added
        caps = self.capabilities
        local = ddl.add_columns(self.spec, [self.table], added, caps, self.on_cluster)
        distributed = ddl.add_columns(self.spec, [self.read_table], added, caps)
        return [Statement(sql) for sql in local] + [Statement(sql, node=node) for node in self.nodes()
                                                   for sql in distributed]

    def init_statements(self) -> list[str]:
        caps = self.capabilities
        return [f"CREATE DATABASE IF NOT EXISTS {self.db}{self.on_cluster}",
                self.create_local_table_sql(self.table, caps, replicated=caps.replicated),
                self._distributed_sql(self.read_table, self.table)]

    def stage_statements(self, day: dt.date) -> list[Statement]:
        stage = self.stage_table(day)
        create = self.create_local_table_sql(stage, self.capabilities, replicated=False, if_not_exists=False,
                                             grain=self.capabilities.partition_grain)
        return [*self.drop_stage_statements(day), Statement(create),
                Statement(self._distributed_sql(self.stage_read_table(day), stage))]

    def drop_stage_statements(self, day: dt.date) -> list[Statement]:
        return [Statement(f"DROP TABLE IF EXISTS {t}{self.on_cluster}")
                for t in (self.stage_read_table(day), self.stage_table(day))]

    def swap_statements(self, day: dt.date) -> list[Statement]:
        sql = "ALTER TABLE {table}{on} REPLACE PARTITION {part} FROM {stage}"
        parts = dict(table=self.table, part=self.partition_literal(day), stage=self.stage_table(day))
        if self.capabilities.replace_partition_on_cluster:
            return [Statement(sql.format(on=self.on_cluster, **parts))]
        return [Statement(sql.format(on="", **parts), node=shard) for shard in self.shards()]

    def drop_day_statements(self, day: dt.date) -> list[Statement]:
        return [Statement(f"ALTER TABLE {self.table}{self.on_cluster} DROP PARTITION {self.partition_literal(day)}")]

    def pending_mutations(self) -> list[dict]:
        reason = "latest_fail_reason" if self.capabilities.mutation_fail_reason else "''"
        rows = self.rows(f"SELECT mutation_id, command, create_time, {reason}, hostName() "
                         f"FROM cluster('{self.cluster}', system.mutations) "
                         f"WHERE database = '{self.db}' AND table = '{self.spec.sink.table}' AND is_done = 0")
        return [{"mutation_id": m, "command": c, "created": str(t), "fail_reason": f, "shard": h}
                for m, c, t, f, h in rows]
