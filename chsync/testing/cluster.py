"""A local ClickHouse cluster: one standalone ZooKeeper and three ClickHouse servers (3 shards × 1 replica)
from Debian's packages, on 127.0.0.1 free ports. For tests, and for trying chsync against a real cluster:

    python -m chsync.testing.cluster up --workdir /tmp/ch-cluster     # prints hosts, ports, cluster names
    python -m chsync.testing.cluster down --workdir /tmp/ch-cluster

Two cluster definitions over the same nodes: `replicated` (internal_replication=true, for Replicated
tables) and `plain` (false, for plain ReplacingMergeTree; ALTER ON CLUSTER fails otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

CLICKHOUSE = "/usr/sbin/clickhouse-server"
ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
USER, PASSWORD = "chsync", "s3cret-pw"
SHARDS = 3


class HarnessError(RuntimeError):
    pass


def find_binaries() -> str | None:
    """None when everything is installed, else what is missing and how to install it."""
    missing = [p for p in (CLICKHOUSE, ZOOKEEPER_JAR) if not os.path.exists(p)]
    if not shutil.which("java"):
        missing.append("java")
    if missing:
        return f"ClickHouse cluster packages not installed ({', '.join(missing)}): run .ci/install-cluster.sh"
    return None


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _remote_servers(name: str, internal: bool, ports: list[int]) -> str:
    shards = "".join(f"<shard><internal_replication>{str(internal).lower()}</internal_replication>"
                     f"<replica><host>127.0.0.1</host><port>{p}</port></replica></shard>" for p in ports)
    return f"<{name}>{shards}</{name}>"


CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>information</level><log>{dir}/server.log</log><errorlog>{dir}/server.err.log</errorlog>
    <size>100M</size><count>2</count></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <interserver_http_port>{inter}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <remote_servers>{clusters}</remote_servers>
  <zookeeper><node><host>127.0.0.1</host><port>{zk}</port></node><session_timeout_ms>15000</session_timeout_ms></zookeeper>
  <macros><shard>{shard}</shard><replica>replica{shard}</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
"""

USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></default>
    <{user}><password>{password}</password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></{user}>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows>
    <read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"""


class LocalCluster:
    cluster_replicated = "replicated"
    cluster_plain = "plain"

    def __init__(self, workdir: str | Path):
        self.workdir = Path(workdir).resolve()
        self.procs: dict[str, subprocess.Popen] = {}
        self.zk_port = 0
        self.tcp_ports: list[int] = []
        self.http_ports: list[int] = []
        self.inter_ports: list[int] = []

    # -- layout ----------------------------------------------------------------------------------
    @property
    def hosts(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", p) for p in self.tcp_ports]

    def describe(self) -> dict:
        return {"workdir": str(self.workdir), "zookeeper": self.zk_port, "hosts": self.hosts,
                "http_ports": self.http_ports, "clusters": [self.cluster_replicated, self.cluster_plain],
                "user": USER, "pids": {k: p.pid for k, p in self.procs.items()}}

    def url(self, database: str, cluster: str | None = None, *, password: bool = True, shard: int = 0) -> str:
        auth = f"{USER}:{PASSWORD}" if password else "default"
        query = f"?cluster={cluster}" if cluster else ""
        return f"clickhouse://{auth}@127.0.0.1:{self.tcp_ports[shard]}/{database}{query}"

    def _configure(self) -> None:
        ports = _free_ports(1 + 3 * SHARDS)
        self.zk_port, rest = ports[0], ports[1:]
        self.tcp_ports, self.http_ports, self.inter_ports = rest[:SHARDS], rest[SHARDS:2 * SHARDS], rest[2 * SHARDS:]
        clusters = (_remote_servers(self.cluster_replicated, True, self.tcp_ports)
                    + _remote_servers(self.cluster_plain, False, self.tcp_ports))
        zk = self.workdir / "zookeeper"
        (zk / "data").mkdir(parents=True, exist_ok=True)
        (zk / "zoo.cfg").write_text(f"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={zk / 'data'}\n"
                                    f"clientPort={self.zk_port}\nclientPortAddress=127.0.0.1\n"
                                    "admin.enableServer=false\n4lw.commands.whitelist=*\nmaxClientCnxns=200\n")
        for i in range(SHARDS):
            d = self.workdir / f"shard{i + 1}"
            for sub in ("data", "tmp", "user_files", "format_schemas"):
                (d / sub).mkdir(parents=True, exist_ok=True)
            (d / "config.xml").write_text(CONFIG.format(
                dir=d, http=self.http_ports[i], tcp=self.tcp_ports[i], inter=self.inter_ports[i], clusters=clusters,
                zk=self.zk_port, shard=i + 1))
            (d / "users.xml").write_text(USERS.format(user=USER, password=PASSWORD))

    # -- processes -------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "LocalCluster":
        problem = find_binaries()
        if problem:
            raise HarnessError(problem)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._configure()
        try:
            self.start_zookeeper(timeout)
            for i in range(SHARDS):
                self.start_shard(i, wait=False)
            for i in range(SHARDS):
                self.wait_shard(i, timeout)
        except BaseException:
            self.stop()
            raise
        (self.workdir / "cluster.json").write_text(json.dumps(self.describe(), indent=2))
        return self

    def start_zookeeper(self, timeout: float = 60.0) -> None:
        zk = self.workdir / "zookeeper"
        log = open(zk / "zookeeper.log", "ab")
        self.procs["zookeeper"] = subprocess.Popen(
            ["java", "-Xmx256m", "-Dzookeeper.root.logger=INFO,CONSOLE", "-cp", f"/etc/zookeeper/conf:{ZOOKEEPER_JAR}",
             "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(zk / "zoo.cfg")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Mode: standalone" in self._four_letter("srvr"):
                return
            if self.procs["zookeeper"].poll() is not None:
                break
            time.sleep(0.2)
        raise HarnessError(f"ZooKeeper did not start: {self._tail(zk / 'zookeeper.log')}")

    def _four_letter(self, word: str) -> str:
        try:
            with socket.create_connection(("127.0.0.1", self.zk_port), timeout=2) as s:
                s.sendall(word.encode())
                return s.recv(4096).decode(errors="replace")
        except OSError:
            return ""

    def start_shard(self, i: int, wait: bool = True, timeout: float = 60.0) -> None:
        d = self.workdir / f"shard{i + 1}"
        out = open(d / "stdout.log", "ab")
        self.procs[f"shard{i + 1}"] = subprocess.Popen(
            [CLICKHOUSE, f"--config-file={d / 'config.xml'}"], stdout=out, stderr=subprocess.STDOUT,
            cwd=d, start_new_session=True)
        if wait:
            self.wait_shard(i, timeout)

    def wait_shard(self, i: int, timeout: float = 60.0) -> None:
        """Until the server answers a ZooKeeper query: a server that gets ON CLUSTER DDL before it has
        its ZooKeeper session segfaults (18.16)."""
        from clickhouse_driver import Client
        name = f"shard{i + 1}"
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                break
            try:
                client = Client("127.0.0.1", port=self.tcp_ports[i], connect_timeout=1)
                client.execute("SELECT count() FROM system.zookeeper WHERE path = '/'")
                client.disconnect()
                return
            except Exception as e:  # noqa: BLE001 - any failure means "not yet"
                last = str(e).splitlines()[0] if str(e) else type(e).__name__
            time.sleep(0.2)
        d = self.workdir / name
        raise HarnessError(f"ClickHouse {name} did not become ready ({last}): "
                           f"{self._tail(d / 'server.err.log') or self._tail(d / 'stdout.log')}")

    def kill_shard(self, i: int) -> None:
        proc = self.procs.get(f"shard{i + 1}")
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)

    def restart_zookeeper(self, timeout: float = 60.0) -> None:
        proc = self.procs.get("zookeeper")
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(30)
        self.start_zookeeper(timeout)

    def stop(self) -> None:
        for name in [n for n in self.procs if n != "zookeeper"] + ["zookeeper"]:
            proc = self.procs.get(name)
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        self.procs.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @staticmethod
    def _tail(path: Path, lines: int = 5) -> str:
        try:
            return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def _down(workdir: Path) -> None:
    state = json.loads((workdir / "cluster.json").read_text())
    for pid in state["pids"].values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    (workdir / "cluster.json").unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chsync.testing.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--workdir", default="chsync-cluster")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir).resolve()
    if args.action == "up":
        cluster = LocalCluster(workdir).start()
        print(json.dumps(cluster.describe(), indent=2))
        cluster.procs.clear()  # leave them running; `down` stops them by pid
        return 0
    if args.action == "down":
        _down(workdir)
        return 0
    state = workdir / "cluster.json"
    print(state.read_text() if state.exists() else "not running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
