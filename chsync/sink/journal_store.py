"""The SQL of the run journal, the run list and the lock (apply/journal.py holds their meaning): append-only
tables in the sink database. Times are epoch milliseconds (UInt64), so the same tables work on servers
without DateTime64; the latest row of a key wins (argMax by `at`)."""

from __future__ import annotations

from .base import ClickHouseSink, literal

RUNS = "chsync_runs"
DAYS = "chsync_journal"
LOCKS = "chsync_locks"
COLUMNS = {
    RUNS: ("run String, customer String, sink_table String, from_day String, to_day String, strategy String, "
           "state String, at UInt64, detail String, plan String"),
    DAYS: "run String, day String, state String, at UInt64, rows Int64, seconds Float64, detail String",
    LOCKS: "sink_table String, run String, host String, pid UInt32, since UInt64, released UInt8, at UInt64",
}
ORDER = {RUNS: "(run, at)", DAYS: "(run, at)", LOCKS: "(sink_table, at)"}
# Added after the first release: old journals get them in place (ALTER TABLE … ADD COLUMN).
ADDED = {RUNS: [("spec", "String"), ("version", "String"), ("kind", "String")]}


class JournalStore:
    def __init__(self, sink: ClickHouseSink):
        self.sink = sink
        self.runs = f"{sink.db}.{RUNS}"
        self.days = f"{sink.db}.{DAYS}"
        self.locks = f"{sink.db}.{LOCKS}"

    def ensure(self) -> None:
        for name in (RUNS, DAYS, LOCKS):
            self.sink.execute(f"CREATE TABLE IF NOT EXISTS {self.sink.db}.{name} ({COLUMNS[name]}) "
                              f"ENGINE = MergeTree ORDER BY {ORDER[name]}")
            have = {c for c, in self.sink.rows(f"SELECT name FROM system.columns WHERE database = "
                                               f"'{self.sink.db}' AND table = '{name}'")}
            for column, kind in ADDED.get(name, []):
                if column not in have:
                    self.sink.execute(f"ALTER TABLE {self.sink.db}.{name} ADD COLUMN {column} {kind}")

    def insert(self, table: str, rows: list[tuple]) -> None:
        self.sink.insert_rows(table, rows)

    def insert_run(self, values: dict) -> None:
        names = ("run", "customer", "sink_table", "from_day", "to_day", "strategy", "state", "at", "detail", "plan",
                 *(c for c, _ in ADDED[RUNS]))
        self.sink.insert_rows(self.runs, [tuple(values.get(n, "") for n in names)])

    def run(self, run: str) -> list[tuple]:
        return self.sink.rows(
            f"SELECT run, customer, sink_table, from_day, to_day, strategy, argMax(state, at), min(at), "
            f"argMax(detail, at), argMax(plan, length(plan)), argMax(spec, length(spec)), any(kind) "
            f"FROM {self.runs} WHERE run = {literal(run)} "
            f"GROUP BY run, customer, sink_table, from_day, to_day, strategy")

    def runs_of(self, sink_table: str, kind: str | None = None) -> list[tuple]:
        """(run, state, from, to, strategy, started, customer, days checked) newest first."""
        kind_filter = f" AND kind = {literal(kind)}" if kind is not None else ""
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

    def lock_state(self, sink_table: str) -> tuple | None:
        rows = self.sink.rows(f"SELECT argMax(run, at), argMax(host, at), argMax(pid, at), argMax(since, at), "
                              f"argMax(released, at), count() FROM {self.locks} "
                              f"WHERE sink_table = {literal(sink_table)}")
        return rows[0] if rows and rows[0][5] else None
