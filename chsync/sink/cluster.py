"""A ClickHouse cluster: the local table on every shard (Replicated, with ZooKeeper, or plain), read and
written through its Distributed table; DDL and mutations ON CLUSTER; partitions replaced per shard where
the server cannot do it ON CLUSTER (18.16)."""

from __future__ import annotations

import datetime as dt
import re
import time

import pyarrow as pa

from ..errors import BadInput, RuntimeFailure
from . import ddl
from .base import MOD64, Statement, as_date, fingerprint_row
from .capabilities import Capabilities
from .server import CONNECTION_CODES, QUORUM_CODES, UNKNOWN_INSERT_STATUS, ServerSink, has


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
    _topology: list[tuple[int, tuple[str, int]]] | None = None

    def topology(self) -> list[tuple[int, tuple[str, int]]]:
        """(shard number, (host, tcp port)) of every replica of every shard, each shard's replicas in the
        cluster's order (asked once: the probe of a silent node must not wait on that node again)."""
        if self._topology is None:
            rows = self.rows(f"SELECT shard_num, host_address, port FROM system.clusters "
                             f"WHERE cluster = '{self.cluster}' ORDER BY shard_num, replica_num")
            nodes = self._reachable_as_listed([(host, int(port)) for _, host, port in rows])
            self._topology = [(int(shard), node) for (shard, _, _), node in zip(rows, nodes)]
        return self._topology

    def replica_sets(self) -> dict[int, list[tuple[str, int]]]:
        """{shard number: its replicas}; the first is the one chsync stages on and swaps (`shards`)."""
        sets: dict[int, list[tuple[str, int]]] = {}
        for shard, node in self.topology():
            sets.setdefault(shard, []).append(node)
        return sets

    def shards(self) -> list[tuple[str, int]]:
        """(host, tcp port) of the first replica of each shard of the cluster."""
        return [nodes[0] for nodes in self.replica_sets().values()]

    def nodes(self) -> list[tuple[str, int]]:
        """(host, tcp port) of every replica of every shard."""
        return [node for _, node in self.topology()]

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
        # The server gives up waiting for the quorum before our socket does (after replica_timeout); the retry
        # of the same block (a replicated table deduplicates it) waits on while a re-joining node catches up.
        return {"insert_quorum": len(self.nodes()),
                "insert_quorum_timeout": max(1000, int(self.url.replica_wait * 1000))}

    def clone(self) -> ClusterSink:
        twin = super().clone()
        assert isinstance(twin, ClusterSink)
        twin._topology = self._topology
        return twin

    def check_reachable(self) -> None:
        """Every node a day's write needs answers within the connect timeout, or the first that does not is
        named: each shard's first replica, and with replicated copies every replica (the staging's DDL runs
        on each, and each must apply the swap)."""
        nodes = self.topology() if self.capabilities.replica_copies else list(enumerate(self.shards(), 1))
        for number, node in nodes:
            problem = self.probe(node)
            if problem:
                raise RuntimeFailure(f"shard {number} ({self.where(node)}) of cluster {self.cluster} does not "
                                     f"answer ({problem}); days already checked stay done: resume the run once the "
                                     "node is back")

    def on_server_error(self, code: int, where: str) -> None:
        if code in CONNECTION_CODES and not where:
            self.check_reachable()  # names the shard that is down, when one is

    def on_timeout(self) -> None:
        if self._topology is not None:
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
        if code != UNKNOWN_INSERT_STATUS:
            return
        # Our own quorum write timed out: a node that answers but has held a write every node must take for
        # longer than replica_timeout (its fetches stopped, its disk full) is named rather than waited for.
        wait = int(self.url.replica_wait)
        for shard, node in self.topology():
            stuck = self.on_node(node, "SELECT database, table, any(postpone_reason), any(last_exception) "
                                       "FROM system.replication_queue WHERE required_quorum > 0 "
                                       "GROUP BY database, table LIMIT 1")
            if stuck:
                db, table, postponed, failed = stuck[0]
                why = _first_line(postponed or failed)
                raise RuntimeFailure(f"replica {self.where(node)} of shard {shard} has not applied a write to "
                                     f"{db}.{table} that every node must take within {wait}s (replica_timeout= in "
                                     f"the sink URL){': ' + why if why else ''}; run again once it fetches")

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
        replicas = max(len(nodes) for nodes in self.replica_sets().values())
        return Capabilities(backend="cluster", cluster=self.cluster, shards=len(topology), replicas=replicas,
                            distributed=True, sharding_key=sharding_key,
                            replace_partition_on_cluster=has(version, "replace_partition_on_cluster"), **base)

    # -- DDL -----------------------------------------------------------------------------------
    def _distributed_sql(self, name: str, local: str) -> str:
        return ddl.distributed_table(name, local, self.cluster, self.capabilities.sharding_key or
                                     self.spec.sink.sharding_key)

    def tables_of_the_table(self) -> list[str]:
        return [self.table, self.read_table]

    def migrate_statements(self) -> list[Statement]:
        """The local table ON CLUSTER (with replicated copies: on one replica per shard, see
        table_statements); the Distributed table on each node by itself: 18.16 refuses an ALTER ON CLUSTER
        of a table that is not replicated on a cluster whose shards replicate internally (code 371), and a
        Distributed table's columns are each node's own metadata anyway."""
        added = self.schema_change().added
        caps = self.capabilities
        head = f"ALTER TABLE {self.table}"
        local = [s for sql in ddl.add_columns(self.spec, [self.table], added, caps)
                 for s in self.table_statements(head, sql.removeprefix(head))]
        distributed = ddl.add_columns(self.spec, [self.read_table], added, caps)
        return local + [Statement(sql, node=node) for node in self.nodes() for sql in distributed]

    def table_statements(self, head: str, tail: str) -> list[Statement]:
        """With replicated copies: on the first replica of each shard, replication carrying it to the others.
        18.16's DDL worker runs an ALTER (or TRUNCATE) ON CLUSTER of a Replicated table once per shard, and
        under load both replicas raced for it: the loser's DDL worker stopped ("Node exists: …/executed") and
        every later ON CLUSTER statement waited on that node until its timeout."""
        if self.capabilities.replica_copies:
            return [Statement(f"{head}{tail}", node=shard) for shard in self.shards()]
        return super().table_statements(head, tail)

    def init_statements(self) -> list[str]:
        caps = self.capabilities
        return [f"CREATE DATABASE IF NOT EXISTS {self.db}{self.on_cluster}",
                self.create_local_table_sql(self.table, caps, replicated=caps.replicated),
                self._distributed_sql(self.read_table, self.table)]

    def stage_statements(self, day: dt.date) -> list[Statement]:
        """With several replicas per shard the staging is replicated too: the staging Distributed table puts
        each block on one replica of its shard, and replication completes the others' (see staged_fingerprint)."""
        stage = self.stage_table(day)
        create = self.create_local_table_sql(stage, self.capabilities, if_not_exists=False,
                                             replicated=self.capabilities.replica_copies,
                                             grain=self.capabilities.partition_grain, like=self.live_shape())
        return [*self.drop_stage_statements(day), Statement(create),
                Statement(self._distributed_sql(self.stage_read_table(day), stage))]

    def live_shape(self) -> ddl.Shape | None:
        """The live table's column types, partition key and ORDER BY (an adopted table's may be wider than
        the spec's own), or None before it exists (a plan of a table `init` has yet to create)."""
        engine, partition_key, types = self.table_info(self.spec.sink.table)
        order_by = ddl.engine_clause(engine, "ORDER BY")
        if not order_by or not partition_key or not all(c.name in types for c in self.spec.columns):
            return None
        return ddl.Shape(types, partition_key, order_by)

    def drop_stage_statements(self, day: dt.date) -> list[Statement]:
        return [Statement(f"DROP TABLE IF EXISTS {t}{self.on_cluster}")
                for t in (self.stage_read_table(day), self.stage_table(day))]

    def swap_statements(self, day: dt.date) -> list[Statement]:
        sql = "ALTER TABLE {table}{on} REPLACE PARTITION {part} FROM {stage}"
        parts = dict(table=self.table, part=self.partition_literal(day), stage=self.stage_table(day))
        if self.capabilities.replace_partition_on_cluster:
            return [Statement(sql.format(on=self.on_cluster, **parts))]
        return [Statement(sql.format(on="", **parts), node=shard) for shard in self.shards()]

    # -- replicas ------------------------------------------------------------------------------
    @property
    def unsafe_for_writes(self) -> str | None:
        caps = self.capabilities
        if caps.replicas > 1 and not caps.replicated:
            return (f"sink table {self.table} is not Replicated but cluster {self.cluster} has {caps.replicas} "
                    "replicas per shard: chsync writes there only to Replicated*MergeTree tables, whose replicas "
                    "ZooKeeper keeps equal (a plain table's replicas each get what one write happens to reach)")
        return None

    def insert_stage(self, day: dt.date, data: pa.Table) -> None:
        # a fresh staging table: nothing to deduplicate against, and no block is sent twice
        self.insert_arrow(self.stage_read_table(day), data,
                          {"insert_deduplicate": 0} if self.capabilities.replica_copies else None)

    def staged_fingerprint(self, stage: str, first: dt.date, last: dt.date) -> tuple[int, int, int]:
        """With several replicas per shard: the sum over shards of the staging of the replica the swap runs
        on (the first of each shard), each once it has every block of its shard."""
        if not self.capabilities.replica_copies:
            return super().staged_fingerprint(stage, first, last)
        local, label = self.stage_table(first), _label(first, last)
        total = [0, 0, 0]
        for shard, nodes in self.replica_sets().items():
            self._sync_replica(shard, nodes[0], local, f"{label}: the staging")
            for i, n in enumerate(fingerprint_row(self.on_node(nodes[0], self.fingerprint_sql(local, first, last))[0])):
                total[i] += n
        return total[0], total[1], total[2] % MOD64

    def prove_replicas(self, first: dt.date, last: dt.date) -> None:
        if not self.capabilities.replica_copies:
            return
        label = _label(first, last)
        for shard, nodes in self.replica_sets().items():
            prints = {}
            for node in nodes:
                self._sync_replica(shard, node, self.table, label)
                prints[node] = fingerprint_row(self.on_node(node, self.fingerprint_sql(self.table, first, last))[0])
            reference = prints[nodes[0]]
            for node, found in prints.items():
                if found != reference:
                    raise RuntimeFailure(
                        f"{label}: replica {self.where(node)} of shard {shard} holds {found[0]:,} rows "
                        f"({found[1]:,} distinct) where replica {self.where(nodes[0])} holds {reference[0]:,} "
                        f"({reference[1]:,} distinct), or their fingerprints differ: a replica lost or kept parts; "
                        "run the day again")

    def wait_for_replicas(self) -> None:
        if self.capabilities.replica_copies:
            for shard, node in self.topology():
                self._sync_replica(shard, node, self.table, "the table's writes")

    def replica_drift(self, first: dt.date, last: dt.date) -> list[dict]:
        if not self.capabilities.replica_copies:
            return []
        sql = (f"SELECT {self.day_expr} AS chsync_day, count(), sum({self.hash.sql()}) FROM {self.table} "
               f"WHERE {self.range_condition(first, last)} GROUP BY chsync_day")
        found = []
        for shard, nodes in self.replica_sets().items():
            held = {node: {as_date(d): (int(n), int(h) % MOD64) for d, n, h in self.on_node(node, sql)}
                    for node in nodes}
            peer = held[nodes[0]]
            for node in nodes[1:]:
                for day in sorted(set(peer) | set(held[node])):
                    mine, theirs = held[node].get(day, (0, 0)), peer.get(day, (0, 0))
                    if mine != theirs:
                        found.append({"day": day.isoformat(), "shard": shard, "replica": self.where(node),
                                      "rows": mine[0], "peer": self.where(nodes[0]), "peer_rows": theirs[0]})
        return sorted(found, key=lambda f: (f["day"], f["shard"]))

    def _sync_replica(self, shard: int, node: tuple[str, int], table: str, what: str) -> None:
        """Until `node` has applied every replicated write of `table` made so far: it has copied the
        shared log's last entry into its queue and its queue is empty. Polled, because 18.16's SYSTEM SYNC
        REPLICA ignores every timeout setting (it waited on a replica without fetches until the socket's
        timeout). Bounded by replica_timeout; the replica is named when it expires."""
        db, name = table.split(".")
        sql = ("SELECT queue_size, log_pointer, log_max_index, zookeeper_path FROM system.replicas "
               f"WHERE database = '{db}' AND table = '{name}'")
        wait = self.url.replica_wait
        deadline = time.monotonic() + wait
        while True:
            try:
                found = self.on_node(node, sql)
            except RuntimeFailure as e:
                raise RuntimeFailure(f"{what}: replica {self.where(node)} of shard {shard} does not answer ({e}); "
                                     "resume once it is back (`chsync backfill --resume last`, or the same "
                                     "sync)") from None
            if not found:
                raise RuntimeFailure(f"{what}: replica {self.where(node)} of shard {shard} has no replicated "
                                     f"table {table}")
            queue, pointer, last, path = found[0]
            if int(queue) == 0 and int(pointer) > int(last):
                return
            # log_pointer = log_max_index = 0 is both "one entry, not copied yet" and "no entry at all" (a
            # shard that got no rows): ZooKeeper tells them apart
            if int(queue) == 0 and int(pointer) == 0 and not self.on_node(
                    node, f"SELECT count() FROM system.zookeeper WHERE path = '{path}/log'")[0][0]:
                return
            if time.monotonic() > deadline:
                stuck = self.on_node(node, "SELECT type, any(postpone_reason), any(last_exception) FROM "
                                           f"system.replication_queue WHERE database = '{db}' AND table = "
                                           f"'{name}' GROUP BY type ORDER BY type LIMIT 1")
                why = f" ({stuck[0][0]}: {_first_line(stuck[0][1] or stuck[0][2])})" if stuck else ""
                raise RuntimeFailure(f"{what}: replica {self.where(node)} of shard {shard} has not caught up "
                                     f"within {wait:g}s (replica_timeout= in the sink URL): {queue} replication "
                                     f"task(s) waiting{why}; resume once it fetches again (`chsync backfill "
                                     "--resume last`, or the same sync)")
            time.sleep(0.1)


    def pending_mutations(self) -> list[dict]:
        reason = "latest_fail_reason" if self.capabilities.mutation_fail_reason else "''"
        rows = self.rows(f"SELECT mutation_id, command, create_time, {reason}, hostName() "
                         f"FROM cluster('{self.cluster}', system.mutations) "
                         f"WHERE database = '{self.db}' AND table = '{self.spec.sink.table}' AND is_done = 0")
        return [{"mutation_id": m, "command": c, "created": str(t), "fail_reason": f, "shard": h}
                for m, c, t, f, h in rows]


def _label(first: dt.date, last: dt.date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def _first_line(text: str) -> str:
    """A server exception as kept in system tables, without its code and wrapping."""
    text = (text or "").strip()
    if not text:
        return ""
    found = re.search(r"DB::Exception: (.*?)(?:, e\.what\(\)|$)", text.splitlines()[0])
    return (found.group(1) if found else text.splitlines()[0])[:200]
