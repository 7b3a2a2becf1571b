"""The SQL of the run journal, the run list, the lock (apply/journal.py holds their meaning) and the ledger
of proofs (apply/ledger.py): append-only tables in the sink database. Times are epoch milliseconds
(UInt64), so the same tables work on servers without DateTime64.

On a cluster the tables are replicated to every node (one ZooKeeper path per table, one replica per
node, whatever the data's sharding), so any node shows the runs and the lock when the node chsync used
is gone. Lock rows are written with a quorum of every node and read with sequential consistency, which
makes the lock's claims linearizable (apply/journal.py builds the mutual exclusion on that). A journal
written by an earlier version (plain tables on one node) is converted in place: its rows are copied into
the replicated tables, and the old tables are kept, renamed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .base import ClickHouseSink, literal

RUNS = "chsync_runs"
DAYS = "chsync_journal"
LOCKS = "chsync_locks"
PROOFS = "chsync_proofs"
TABLES = (RUNS, DAYS, LOCKS, PROOFS)
COLUMNS = {
    RUNS: ("run String, customer String, sink_table String, from_day String, to_day String, strategy String, "
           "state String, at UInt64, detail String, plan String"),
    DAYS: "run String, day String, state String, at UInt64, rows Int64, seconds Float64, detail String",
    LOCKS: "sink_table String, run String, host String, pid UInt32, since UInt64, released UInt8, at UInt64",
    # outcome: proven (equal to Postgres, with its rows and fingerprint), drifted, healed
    PROOFS: ("sink_table String, customer String, day String, at UInt64, outcome String, rows Int64, hash UInt64, "
             "how String, run String"),
}
ORDER = {RUNS: "(run, at)", DAYS: "(run, at)", LOCKS: "(sink_table, at)", PROOFS: "(sink_table, customer, day, at)"}
# Months of `at`: old journal rows go by dropping whole partitions (a DELETE would be a mutation). The
# ledger is kept whole (one row per proof; `prune` leaves it), by the month of the day proven.
PARTITION = {name: "toYYYYMM(toDateTime(intDiv(at, 1000)))" for name in (RUNS, DAYS, LOCKS)} | {
    PROOFS: "substring(day, 1, 7)"}
PROOF_COLUMNS = ("sink_table", "customer", "day", "at", "outcome", "rows", "hash", "how", "run")
# Added after the first release: old journals get them in place (ALTER TABLE … ADD COLUMN).
ADDED = {
    RUNS: [("spec", "String"), ("version", "String"), ("kind", "String")],
    LOCKS: [("claim", "String"), ("ticket", "UInt64"), ("phase", "String")],
}
LOCK_COLUMNS = ("sink_table", "run", "host", "pid", "since", "released", "at", "claim", "ticket", "phase")
BEFORE_REPLICATION = "_before_replication"


def columns_of(name: str) -> str:
    return ", ".join([COLUMNS[name], *(f"{c} {t}" for c, t in ADDED.get(name, []))])


class JournalStore:
    def __init__(self, sink: ClickHouseSink):
        self.sink = sink
        self.runs = f"{sink.db}.{RUNS}"
        self.days = f"{sink.db}.{DAYS}"
        self.locks = f"{sink.db}.{LOCKS}"
        self.proofs = f"{sink.db}.{PROOFS}"
        self.replicated = sink.capabilities.cluster is not None

    # -- tables --------------------------------------------------------------------------------
    def ensure(self) -> None:
        if self.replicated:
            self._ensure_replicated()
            return
        for name in TABLES:
            self.sink.execute(f"CREATE TABLE IF NOT EXISTS {self.sink.db}.{name} ({COLUMNS[name]}) "
                              f"ENGINE = MergeTree PARTITION BY {PARTITION[name]} ORDER BY {ORDER[name]}")
            self._add_columns(name)

    def _add_columns(self, name: str, run: Callable[..., list[tuple]] | None = None) -> None:
        run = run or self.sink.rows
        have = {c for c, in run(f"SELECT name FROM system.columns WHERE database = '{self.sink.db}' "
                                f"AND table = '{name}'")}
        for column, kind in ADDED.get(name, []):
            if column not in have:
                run(f"ALTER TABLE {self.sink.db}.{name} ADD COLUMN {column} {kind}")

    def _replicated_sql(self, name: str, table: str) -> str:
        db = self.sink.db
        return (f"CREATE TABLE IF NOT EXISTS {db}.{table} ON CLUSTER {self.sink.capabilities.cluster} "
                f"({columns_of(name)}) ENGINE = ReplicatedMergeTree('/clickhouse/chsync/{db}/{name}', "
                f"'{{shard}}-{{replica}}') PARTITION BY {PARTITION[name]} ORDER BY {ORDER[name]}")

    def _engines_here(self) -> dict:
        return dict(self.sink.rows(f"SELECT name, engine FROM system.tables WHERE database = '{self.sink.db}' "
                                   f"AND name IN ({', '.join(map(literal, TABLES))})"))

    def _ensure_replicated(self) -> None:
        # Replicated here means they were made ON CLUSTER after every node's plain tables were converted, so
        # the other nodes need not be asked (one of them may be the dead node this run is working around).
        here = self._engines_here()
        if len(here) == len(TABLES) and all(engine.startswith("Replicated") for engine in here.values()):
            return
        nodes = self.sink.nodes()
        ours = ", ".join(map(literal, TABLES))
        engines = {node: dict(self.sink.on_node(node, f"SELECT name, engine FROM system.tables WHERE database = "
                                                     f"'{self.sink.db}' AND name IN ({ours})"))
                   for node in nodes}
        for name in TABLES:
            old = [node for node in nodes if engines[node].get(name, "").startswith("MergeTree")]
            if all(engines[node].get(name, "").startswith("Replicated") for node in nodes):
                continue
            if not old:
                self.sink.execute(self._replicated_sql(name, name))
                continue
            self._convert(name, nodes, old)

    def _convert(self, name: str, nodes: list, old: list) -> None:
        """Plain tables of an earlier version → one replicated table with all their rows, in place."""
        db, fresh = self.sink.db, f"{name}_replicated"
        self.sink.execute(self._replicated_sql(name, fresh))
        kept = f"{name}{BEFORE_REPLICATION}_{int(time.time())}"
        for node in old:
            self._add_columns(name, lambda sql, node=node: self.sink.on_node(node, sql))
            self.sink.on_node(node, f"INSERT INTO {db}.{fresh} SELECT * FROM {db}.{name}")
            self.sink.on_node(node, f"RENAME TABLE {db}.{name} TO {db}.{kept}")
        for node in nodes:
            self.sink.on_node(node, f"RENAME TABLE {db}.{fresh} TO {db}.{name}")

    def prune(self, before_month: int) -> int:
        """Drop the journal's months before YYYYMM `before_month`; returns how many partitions went. A
        journal of an earlier version has no partitions and is left as it is."""
        dropped = 0
        for name in (RUNS, DAYS, LOCKS):
            for partition, in self.sink.rows(
                    f"SELECT DISTINCT partition FROM system.parts WHERE database = '{self.sink.db}' "
                    f"AND table = '{name}' AND active"):
                if str(partition).isdigit() and int(partition) < before_month:
                    self.sink.execute(f"ALTER TABLE {self.sink.db}.{name} DROP PARTITION {partition}")
                    dropped += 1
        return dropped

    # -- writes --------------------------------------------------------------------------------
    def insert(self, table: str, rows: list[tuple]) -> None:
        self.sink.insert_rows(table, rows)

    def insert_run(self, values: dict) -> None:
        names = ("run", "customer", "sink_table", "from_day", "to_day", "strategy", "state", "at", "detail", "plan",
                 *(c for c, _ in ADDED[RUNS]))
        self.sink.insert_rows(self.runs, [tuple(values.get(n, "") for n in names)])

    def insert_proofs(self, rows: list[dict]) -> None:
        if rows:
            self.sink.insert_rows(self.proofs, [tuple(r[c] for c in PROOF_COLUMNS) for r in rows])

    def insert_lock(self, values: dict) -> None:
        """A lock row, acknowledged by every node before this returns (on a cluster)."""
        settings = self.sink.all_nodes_settings() if self.replicated else None
        self.sink.insert_rows(self.locks, [tuple(values.get(c, "") for c in LOCK_COLUMNS)], settings)

    # -- reads ---------------------------------------------------------------------------------
    def run(self, run: str) -> list[tuple]:
        return self.sink.rows(
            f"SELECT run, customer, sink_table, from_day, to_day, strategy, argMax(state, at), min(at), "
            f"argMax(detail, at), argMax(plan, length(plan)), argMax(spec, length(spec)), any(kind) "
            f"FROM {self.runs} WHERE run = {literal(run)} "
            f"GROUP BY run, customer, sink_table, from_day, to_day, strategy")

    def runs_of(self, sink_table: str, kind: str | None = None) -> list[tuple]:
        """(run, state, from, to, strategy, started, customer, days checked) newest first."""
        # runs written before `kind` existed were backfills (their kind reads as '')
        kinds = [literal(kind), "''"] if kind == "backfill" else [literal(kind)]
        kind_filter = f" AND kind IN ({', '.join(kinds)})" if kind is not None else ""
        done = dict(self.sink.rows(
            f"SELECT run, countIf(state = 'checked') FROM (SELECT run, day, argMax(state, at) AS state "
            f"FROM {self.days} GROUP BY run, day) GROUP BY run"))
        rows = self.sink.rows(
            f"SELECT run, argMax(state, at), any(from_day), any(to_day), any(strategy), min(at), any(customer) "
            f"FROM {self.runs} WHERE sink_table = {literal(sink_table)}{kind_filter} GROUP BY run "
            f"ORDER BY min(at) DESC")
        return [(*r, int(done.get(r[0], 0))) for r in rows]

    def day_states(self, run: str) -> list[tuple]:
        return self.sink.rows(f"SELECT day, argMax(state, at) FROM {self.days} WHERE run = {literal(run)} "
                              f"GROUP BY day")

    def day_events(self, run: str) -> list[tuple]:
        return self.sink.rows(f"SELECT day, state, at, rows, seconds, detail FROM {self.days} "
                              f"WHERE run = {literal(run)} ORDER BY at")

    def rate(self, strategy: str, sink_table: str) -> tuple[int, float]:
        rows = self.sink.rows(
            f"SELECT sum(j.rows), sum(j.seconds) FROM {self.days} AS j "
            f"WHERE j.state = 'checked' AND j.rows > 0 AND j.run IN "
            f"(SELECT run FROM {self.runs} WHERE strategy = {literal(strategy)} "
            f"AND sink_table = {literal(sink_table)})")
        n, seconds = rows[0] if rows else (0, 0)
        return int(n or 0), float(seconds or 0)

    def last_in_sync(self, sink_table: str) -> float | None:
        rows = self.sink.rows(f"SELECT max(at) FROM {self.runs} WHERE sink_table = {literal(sink_table)} "
                              f"AND state = 'finished' AND detail = 'in sync'")
        at = rows[0][0] if rows else 0
        return at / 1000 if at else None

    def proofs_of(self, sink_table: str, customer: str) -> list[tuple]:
        """(day, last proven at, its rows, last drifted at, last healed at, the run of the last proof) per day
        with any proof; 0 for never."""
        return self.sink.rows(
            f"SELECT day, maxIf(at, outcome = 'proven'), argMaxIf(rows, at, outcome = 'proven'), "
            f"maxIf(at, outcome = 'drifted'), maxIf(at, outcome = 'healed'), "
            f"argMaxIf(run, at, outcome = 'proven') FROM {self.proofs} "
            f"WHERE sink_table = {literal(sink_table)} AND customer = {literal(customer)} GROUP BY day")

    def lock_rows(self, sink_table: str) -> list[dict]:
        """Every lock row of the table (claims, tickets, releases), as the quorum wrote them."""
        consistent = " SETTINGS select_sequential_consistency = 1" if self.replicated else ""
        rows = self.sink.rows(f"SELECT {', '.join(LOCK_COLUMNS)} FROM {self.locks} "
                              f"WHERE sink_table = {literal(sink_table)} ORDER BY at{consistent}")
        return [dict(zip(LOCK_COLUMNS, r)) for r in rows]
