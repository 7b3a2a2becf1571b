"""The local cluster harness does what the sink tests rely on: real sharding, ON CLUSTER DDL and mutations,
a shard that dies and comes back, a ZooKeeper restart, and no process left behind."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError
from harness.cluster import USER, HarnessError, LocalCluster

pytestmark = pytest.mark.cluster
ROWS, IDS = 3000, 1000  # three versions of each id
_db = itertools.count()


def _until(what: str, check, timeout: float = 30.0, every: float = 0.25):
    """Retry `check` (returns a truthy value or raises) until it succeeds; fail with the last error."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except ClickHouseError as e:
            last = e
        time.sleep(every)
    pytest.fail(f"{what}: not within {timeout:.0f} s (last error: {last})")


def _rows() -> list[tuple]:
    start = datetime(2026, 1, 1)
    return [(f"conv-{n % IDS:05d}", start + timedelta(days=n // IDS, seconds=n), n) for n in range(ROWS)]


def _per_shard(cluster: LocalCluster, sql: str) -> list[int]:
    return [cluster.client(i).execute(sql)[0][0] for i in range(len(cluster.hosts))]


@pytest.fixture
def db(local_cluster):
    name = f"harness_{next(_db)}"
    local_cluster.client().execute(f"CREATE DATABASE {name} ON CLUSTER {local_cluster.cluster_replicated}")
    yield name
    # after a ZooKeeper restart the first tries may still see "Session expired"
    _until(f"DROP DATABASE {name}", lambda: local_cluster.client().execute(
        f"DROP DATABASE IF EXISTS {name} ON CLUSTER {local_cluster.cluster_replicated}") or True)


LAYOUTS = {
    # cluster attribute, engine, sharding key
    "replicated": ("cluster_replicated", "ReplicatedReplacingMergeTree('/clickhouse/tables/{{shard}}/{db}/t', "
                                         "'{{replica}}', updated_at)", "cityHash64(id)"),
    "plain": ("cluster_plain", "ReplacingMergeTree(updated_at)", "rand()"),
}


def _create(cluster: LocalCluster, db: str, layout: str) -> str:
    """A local table `t` on every shard and a Distributed `t_d` over them; returns the cluster name."""
    attr, engine, key = LAYOUTS[layout]
    name = getattr(cluster, attr)
    client = cluster.client()
    client.execute(f"CREATE TABLE {db}.t ON CLUSTER {name} (id String, updated_at DateTime, n UInt32) "
                   f"ENGINE = {engine.format(db=db)} PARTITION BY toDate(updated_at) ORDER BY id")
    client.execute(f"CREATE TABLE {db}.t_d ON CLUSTER {name} AS {db}.t "
                   f"ENGINE = Distributed({name}, {db}, t, {key})")
    client.execute(f"INSERT INTO {db}.t_d (id, updated_at, n) VALUES", _rows(),
                   settings={"insert_distributed_sync": 1})
    return name


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_distributed_insert_spreads_rows_over_every_shard(local_cluster, db, layout):
    _create(local_cluster, db, layout)
    counts = _per_shard(local_cluster, f"SELECT count() FROM {db}.t")
    assert all(c > 0 for c in counts) and sum(counts) == ROWS, counts
    assert local_cluster.client(1).execute(f"SELECT count() FROM {db}.t_d")[0][0] == ROWS
    final = local_cluster.client().execute(f"SELECT count() FROM {db}.t_d FINAL")[0][0]
    if layout == "replicated":
        # cityHash64(id) % 3 picks the shard, so every version of an id meets its duplicates
        misplaced = [local_cluster.client(i).execute(
            f"SELECT count() FROM {db}.t WHERE cityHash64(id) % 3 != {i}")[0][0] for i in range(3)]
        assert misplaced == [0, 0, 0]
        assert final == IDS
    else:
        assert final > IDS, "rand() scatters an id's versions over shards; FINAL cannot merge across them"


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_alter_delete_on_cluster_removes_rows_on_every_shard(local_cluster, db, layout):
    name = _create(local_cluster, db, layout)
    client = local_cluster.client()
    client.execute(f"ALTER TABLE {db}.t ON CLUSTER {name} DELETE WHERE n % 10 = 0")
    pending = (f"SELECT countIf(is_done = 0), count() FROM cluster('{name}', system.mutations) "
               f"WHERE database = '{db}' AND table = 't'")
    # 18.16 has no mutations_sync; a failed mutation stays is_done=0 forever, hence the timeout
    _until("mutations done on all shards", lambda: client.execute(pending)[0] == (0, 3))
    assert _per_shard(local_cluster, f"SELECT count() FROM {db}.t WHERE n % 10 = 0") == [0, 0, 0]
    assert sum(_per_shard(local_cluster, f"SELECT count() FROM {db}.t")) == ROWS - ROWS // 10


def test_killed_shard_comes_back_with_its_data(local_cluster, db):
    _create(local_cluster, db, "replicated")
    before = local_cluster.client(2).execute(f"SELECT count() FROM {db}.t")[0][0]
    old_pid = local_cluster.procs["shard3"].pid
    local_cluster.kill_shard(2)
    with pytest.raises(ClickHouseError):
        local_cluster.client(2, connect_timeout=1).execute("SELECT 1")
    assert "shard3" not in json.loads(local_cluster.state_file.read_text())["pids"]
    local_cluster.start_shard(2)
    assert local_cluster.client(2).execute(f"SELECT count() FROM {db}.t")[0][0] == before > 0
    assert json.loads(local_cluster.state_file.read_text())["pids"]["shard3"] != old_pid
    assert local_cluster.client().execute(f"SELECT count() FROM {db}.t_d")[0][0] == ROWS


def test_on_cluster_ddl_and_replicated_insert_recover_after_zookeeper_restart(local_cluster, db):
    _create(local_cluster, db, "replicated")
    client = local_cluster.client()
    local_cluster.restart_zookeeper()
    started = time.monotonic()
    _until("ON CLUSTER DDL after a ZooKeeper restart", lambda: client.execute(
        f"CREATE TABLE IF NOT EXISTS {db}.after ON CLUSTER {local_cluster.cluster_replicated} (x UInt8) "
        f"ENGINE = Memory") or True)
    assert _per_shard(local_cluster, f"EXISTS TABLE {db}.after") == [1, 1, 1]
    # replicated tables are read-only until their replica re-registers in ZooKeeper
    _until("replicated insert after a ZooKeeper restart", lambda: client.execute(
        f"INSERT INTO {db}.t_d (id, updated_at, n) VALUES", [("late", datetime(2026, 2, 1), ROWS)],
        settings={"insert_distributed_sync": 1}) or True)
    assert client.execute(f"SELECT count() FROM {db}.t_d")[0][0] == ROWS + 1
    assert time.monotonic() - started < 30

    local_cluster.restart_zookeeper(wait_ddl=True)  # then DDL works at the first try
    client.execute(f"DROP TABLE {db}.after ON CLUSTER {local_cluster.cluster_replicated}")
    assert _per_shard(local_cluster, f"EXISTS TABLE {db}.after") == [0, 0, 0]


def _whoami(client: Client) -> str:
    # 18.16 has no currentUser()
    return client.execute("SELECT user FROM system.processes WHERE query_id = 'whoami'", query_id="whoami")[0][0]


def test_users_default_without_and_chsync_with_password(local_cluster):
    host, port = local_cluster.hosts[0]
    assert _whoami(Client(host, port=port)) == "default"
    assert _whoami(Client(host, port=port, user=USER, password=local_cluster.password)) == USER
    with pytest.raises(ClickHouseError, match="(?i)password"):
        Client(host, port=port, user=USER, password="wrong").execute("SELECT 1")
    assert local_cluster.password not in local_cluster.state_file.read_text()
    assert (local_cluster.workdir / "password").read_text() == local_cluster.password
    assert (local_cluster.workdir / "password").stat().st_mode & 0o077 == 0


def test_native_tls_with_the_throwaway_ca(local_cluster):
    host, port = "127.0.0.1", local_cluster.tcp_secure_ports[0]
    secure = Client(host, port=port, user=USER, password=local_cluster.password, secure=True,
                    ca_certs=str(local_cluster.ca))
    assert _whoami(secure) == USER
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        Client(host, port=port, secure=True, ca_certs=str(local_cluster.other_ca)).execute("SELECT 1")
    assert Client(host, port=port, secure=True, verify=False).execute("SELECT 1") == [(1,)]


def _pids_gone(workdir) -> bool:
    return subprocess.run(["pgrep", "-f", f"{workdir}/"], capture_output=True).stdout == b""


def test_repeated_start_stop_leaves_no_process_and_failures_show_the_log(tmp_path):
    cluster = LocalCluster(tmp_path / "again")
    for _ in range(2):
        with cluster:
            assert len(cluster.procs) == 4
            assert cluster.client(0).execute(f"SELECT count() FROM system.clusters "
                                             f"WHERE cluster = '{cluster.cluster_plain}'") == [(3,)]
        assert _pids_gone(cluster.workdir) and not cluster.state_file.exists()
    with pytest.raises(HarnessError, match=r"shard1 exited with code .*(server\.err|stdout)\.log"):
        with cluster:
            cluster.kill_shard(0)
            (cluster.workdir / "shard1" / "config.xml").write_text("<yandex><broken")
            cluster.start_shard(0, timeout=20)
    assert _pids_gone(cluster.workdir)


def test_command_line_up_status_down(tmp_path):
    workdir = tmp_path / "cli"
    run = [sys.executable, str(Path(__file__).parent.parent / "harness" / "cluster.py")]
    up = subprocess.run([*run, "up", "--workdir", str(workdir)], capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stderr
        assert (workdir / "password").read_text() not in up.stdout + up.stderr
        info = json.loads(up.stdout)
        assert len(info["hosts"]) == 3 and info["cluster_replicated"] and info["cluster_plain"]
        host, port = info["hosts"][1]  # the servers outlive `up`
        assert Client(host, port=port).execute(
            "SELECT substitution FROM system.macros WHERE macro = 'shard'") == [("2",)]
        status = subprocess.run([*run, "status", "--workdir", str(workdir)], capture_output=True, text=True)
        assert status.returncode == 0 and all(json.loads(status.stdout)["running"].values())
    finally:
        down = subprocess.run([*run, "down", "--workdir", str(workdir)], capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    assert _pids_gone(workdir)
    assert subprocess.run([*run, "status", "--workdir", str(workdir)], capture_output=True).returncode == 3
