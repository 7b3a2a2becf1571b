"""A tiny source world built row by row, so each test states exactly the drift it creates."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

from chsync.apply.journal import Journal
from chsync.demo import schema

USECASES = ["reservations", "reservations-chat", "customer-care", "cargo", "central-baggage", "chat", "cco"]


class World:
    def __init__(self, conn):
        self.conn = conn
        schema.create(conn)
        conn.execute("""
            INSERT INTO customers VALUES ('alaska-air', 'Alaska Air'), ('other-air', 'Other Air');
            INSERT INTO profiles VALUES ('p-alaska', 'alaska-air', 'main'), ('p-other', 'other-air', 'main'),
                                        ('p-other-2', 'other-air', 'second');
            INSERT INTO users VALUES ('agent-1', 'alaska-air', false), ('agent-2', 'alaska-air', false),
                                     ('dev-1', 'alaska-air', true);""")
        for name in USECASES:
            conn.execute("INSERT INTO usecases VALUES (%s, 'alaska-air', %s)", (f"uc-{name}", name))

    @classmethod
    def attach(cls, conn) -> World:
        """A World over an already built source (no schema changes)."""
        w = cls.__new__(cls)
        w.conn = conn
        return w

    def add(self, day: dt.date, *, n: int = 1, usecase: str = "reservations", agent: str | None = "agent-1",
            source_type: str = "voice", labels: tuple[str, ...] = ("baggage",), assist: bool = True,
            customer: str = "alaska-air", profile: str = "p-alaska", second: int = 0) -> list[str]:
        ids = []
        for i in range(n):
            cid = str(uuid.uuid4())
            ended = dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(
                seconds=(second + 37 * i) % 86400, microseconds=123456)
            self.conn.execute(
                "INSERT INTO conversations VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (cid, customer, profile, f"uc-{usecase}", agent, source_type, ended - dt.timedelta(minutes=7),
                 ended, assist, ended + dt.timedelta(minutes=1)))
            for label in labels:
                self.conn.execute("INSERT INTO conversation_labels VALUES (%s, %s)", (cid, label))
            ids.append(cid)
        return ids


# A labels table that plans fine but fails when read: the spec still matches the database (so the check
# before anything runs passes), and the day's read itself fails, as a lost or broken source would.
BREAK_LABELS = """
    ALTER TABLE conversation_labels RENAME TO conversation_labels_gone;
    CREATE VIEW conversation_labels AS SELECT conversation_id, label FROM conversation_labels_gone
        WHERE 1 / (SELECT count(*) - count(*) FROM conversation_labels_gone) = 1"""

DAYS = [dt.date(2026, 1, 19), dt.date(2026, 1, 20), dt.date(2026, 1, 21), dt.date(2026, 1, 22)]
RANGE = ("--from", "2026-01-19", "--to", "2026-01-22")


def add_duplicates(sink, keys) -> None:
    """An older copy of each row, as a job that ran twice would leave it (through the table readers use,
    so on a cluster it lands on the same shard as the row)."""
    table = sink.read_table
    columns = ", ".join(sink.spec.names)
    older = ", ".join({"updated_at": "updated_at - 60", "agent_user_id": "'agent-2'"}.get(c, c)
                      for c in sink.spec.names)
    for key in keys:  # separate inserts: chDB collapses duplicates inside one INSERT
        sink.execute(f"INSERT INTO {table} ({columns}) SELECT {older} FROM {table} WHERE conversation_id = '{key}'")
    sink.wait_for_replicas()


def make_drifted(env):
    """Four days synced, then drifted: in sync; stale + changed + duplicates; missing + stale; duplicates
    only. Verify says so before the test begins."""
    with env.pg() as conn:
        w = World(conn)
        w.add(DAYS[0], n=20)
        d2 = w.add(DAYS[1], n=30, usecase="reservations-chat")
        d3 = w.add(DAYS[2], n=25, usecase="chat")
        d4 = w.add(DAYS[3], n=15)
    env.cli("init", check=True)
    env.cli("sync", *RANGE, check=True)
    with env.pg() as conn:
        conn.execute("UPDATE conversations SET agent_user_id = 'dev-1' WHERE id = ANY(%s::uuid[])", (d2[:4],))
        conn.execute("UPDATE conversations SET usecase_id = 'uc-reservations' WHERE id = ANY(%s::uuid[])",
                     (d2[4:10],))
        conn.execute("UPDATE conversations SET ended_at = NULL WHERE id = ANY(%s::uuid[])", (d3[:3],))
        World.attach(conn).add(DAYS[2], n=5, usecase="chat", second=5000)
    with env.sink() as sink:
        add_duplicates(sink, d2[10:13] + d4[:2])
    doc = env.cli_json("verify", *RANGE, expect=1)
    assert [d["in_sync"] for d in doc["days"]] == [True, False, False, False]
    return env


FILTER_SQL = """
    SELECT c.id::text FROM conversations c
    JOIN profiles p ON p.id = c.profile_id AND p.customer_id = 'alaska-air'
    JOIN users u ON u.id = c.agent_user_id AND u.is_dev_user = FALSE
    WHERE c.customer_id = 'alaska-air' AND c.ended_at IS NOT NULL
      AND c.ended_at >= %(day)s::date AND c.ended_at < %(day)s::date + 1
      AND c.source_type IN ('voice', 'chat') AND c.has_agent_assistance = TRUE"""


def source_ids(conn, day: dt.date) -> set[str]:
    """The seed's source set, written independently of chsync's own query."""
    return {r[0] for r in conn.execute(FILTER_SQL, {"day": day.isoformat()}).fetchall()}


def sink_rows(sink, day: dt.date) -> list[str]:
    """Raw sink rows of the day (ids, repeated for duplicates), plain SQL."""
    return [r[0] for r in sink.rows(
        f"SELECT toString(conversation_id) FROM {sink.table} WHERE toDate(ended_at) = '{day.isoformat()}'")]


def sink_day_ids(sink, day: dt.date) -> list[str]:
    """Raw rows of the day as readers see them (the Distributed table on a cluster), ids repeated for
    duplicates."""
    return [r[0] for r in sink.rows(
        f"SELECT toString(conversation_id) FROM {sink.read_table} WHERE toDate(ended_at) = '{day.isoformat()}'")]


def replica_day_ids(sink, day: dt.date) -> dict[int, dict[tuple, list[str]]]:
    """{shard: {replica: sorted raw ids of the day in its own local table}} on a cluster ({} elsewhere)."""
    if not hasattr(sink, "replica_sets"):
        return {}
    sql = f"SELECT toString(conversation_id) FROM {sink.table} WHERE toDate(ended_at) = '{day.isoformat()}'"
    return {shard: {node: sorted(r[0] for r in sink.on_node(node, sql)) for node in nodes}
            for shard, nodes in sink.replica_sets().items()}


def assert_sink_equals_source(conn, sink, days) -> None:
    """Every day: no duplicate rows, no conversation missing or extra, per-day counts equal; on a cluster
    with replicas, every replica of a shard holds exactly what the others of that shard hold."""
    for day in days:
        for shard, replicas in replica_day_ids(sink, day).items():
            held = list(replicas.values())
            assert all(ids == held[0] for ids in held), (
                f"{day}: the replicas of shard {shard} differ: " + ", ".join(
                    f"{node[1]} holds {len(ids)}" for node, ids in replicas.items()))
        expected, rows = source_ids(conn, day), sink_day_ids(sink, day)
        assert len(rows) == len(set(rows)), f"{day}: {len(rows) - len(set(rows))} duplicate rows"
        assert len(rows) == len(expected), f"{day}: sink has {len(rows)} rows, Postgres {len(expected)}"
        assert set(rows) == expected, f"{day}: sink ids differ from the source set"


def staging_tables(sink) -> list[str]:
    """Staging tables left in the sink database (on the node chsync connects to)."""
    return [r[0] for r in sink.rows(f"SELECT name FROM system.tables WHERE database = '{sink.db}' "
                                     f"AND startsWith(name, '{sink.spec.staging_table}')")]


class Paused:
    """A real `chsync` process stopped at a fault point (CHSYNC_FAULT=pause:<point>[:<day>]), so a test
    can act at exactly that moment from outside: `kill9()`, or do something and `resume()`."""

    def __init__(self, argv: list[str], environ: dict, fault: str, folder, timeout: float = 180.0,
                 wait: bool = True):
        """`fault`: "<point>[:<day>]", or several as "<point>,pause:<point>" (a later pause is waited for with
        `next_pause`). `wait=False`: return at once (`next_pause` waits for the first)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.fault = fault
        self.out, self.err = folder / "stdout", folder / "stderr"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env={
                **environ, "CHSYNC_FAULT": f"pause:{fault}", "CHSYNC_FAULT_DIR": str(folder)})
        self.pid = self.proc.pid
        if wait:
            self.info = self.next_pause(timeout)
            if self.info is None:
                raise AssertionError(f"chsync exited {self.proc.returncode} before pausing at {fault}:\n"
                                     f"{self.err.read_text()}")

    def next_pause(self, timeout: float = 180.0) -> dict | None:
        """The next pause's {"pid", "point", "day"}, or None when the process exited first."""
        fault = self.fault
        deadline = time.monotonic() + timeout
        while not (self.folder / "paused").exists():
            if self.proc.poll() is not None:
                return None
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"chsync did not reach {fault} in {timeout:.0f}s")
            time.sleep(0.02)
        info = json.loads((self.folder / "paused").read_text())
        assert info["pid"] == self.pid
        return info

    def kill9(self) -> None:
        """A real `kill -9` from another process; reaped, so the pid is really gone."""
        os.kill(self.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL

    def go(self, timeout: float = 30.0) -> None:
        """Let the process continue from the pause (returns once it has left the pause)."""
        (self.folder / "resume").touch()
        deadline = time.monotonic() + timeout
        while (self.folder / "paused").exists() and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)

    def wait(self, timeout: float = 300.0) -> subprocess.CompletedProcess:
        code = self.proc.wait(timeout=timeout)
        return subprocess.CompletedProcess(self.proc.args, code, self.out.read_text(), self.err.read_text())


def kill_backend_mid_read(conn, paused: Paused, timeout: float = 60.0) -> int:
    """Let `paused` (stopped just before a day's source read) run into a lock on `conversations`, then
    terminate the Postgres backend that is executing that read. Returns the terminated backend's pid."""
    idle = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'").fetchone()[0]
    assert idle == 0, "chsync must not hold a transaction (and its table locks) open between reads"
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '10s'")
        conn.execute("LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")
        paused.go()
        deadline = time.monotonic() + timeout
        while True:
            conn.execute("SELECT pg_stat_clear_snapshot()")  # else the view is frozen for the transaction
            # whichever statement of the day's read waits for the lock (pg_stat_activity shows only the
            # first 1 KB of a query, so its text is not matched)
            row = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                               "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'").fetchone()
            if row:
                break
            assert paused.proc.poll() is None and time.monotonic() < deadline, "the read never started"
            time.sleep(0.02)
        assert conn.execute("SELECT pg_terminate_backend(%s)", row).fetchone()[0]
    return row[0]


def tcp_ports_of(pid: int, peer_port: int) -> set[int]:
    """The local ports of the TCP connections process `pid` holds to `peer_port` (from /proc: its socket
    descriptors, matched by inode against the kernel's connection tables)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == peer_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def backends_of(conn, pid: int, pg_port: int) -> list[tuple[int, str]]:
    """(backend pid, application_name) of the Postgres backends serving process `pid`'s connections (chsync's
    own drivers and, in the same process, chDB's postgresql())."""
    ports = sorted(tcp_ports_of(pid, pg_port))
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT pid, application_name FROM pg_stat_activity WHERE client_port = ANY(%s) "
        "AND client_addr IN ('127.0.0.1', '::1') ORDER BY pid", (ports,)).fetchall()]


def with_password(dsn: str, password: str) -> str:
    """The same DSN with a password (the embedded Postgres trusts local connections, and ignores it)."""
    scheme, rest = dsn.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


# -- what a crash must leave behind (shared by the chDB and cluster crash tests) ----------------------

DONE = ("checked", "skipped")


def journal_of_last_run(env) -> tuple[str, dict, dict]:
    with env.sink() as sink:
        journal = Journal(sink)
        run = journal.latest_run()
        return run, journal.run(run), {d.isoformat(): s for d, s in journal.day_states(run).items()}


def assert_journal_stopped_at(states: dict, point: str, strategy: str) -> None:
    """The journal tells the truth at the kill: the paused day is at that state, days before it are done,
    days after it untouched since the plan (bulk: since the range delete); a point without a day: every
    day is at that state."""
    state, _, day = point.partition(":")
    if not day:
        assert set(states.values()) == {state}, states
        return
    assert states[day] == state, states
    assert all(s in DONE for d, s in states.items() if d < day), states
    later = "deleted" if strategy == "bulk" else "planned"
    assert all(s == later for d, s in states.items() if d > day), states


def assert_refused_naming_the_dead_holder(done, run: str, pid: int, started: float, killed: float) -> None:
    assert done.returncode == 3, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("chsync: error:")]
    assert len(errors) == 1, done.stderr
    assert f"locked by run {run} (pid {pid} on " in errors[0] and "whose process is gone" in errors[0]
    assert "--take-over" in errors[0]
    since = dt.datetime.fromisoformat(re.search(r", since (\S+)\)", errors[0])[1]).timestamp()
    assert started - 1 <= since <= killed, (since, started, killed)


