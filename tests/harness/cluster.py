"""A local ClickHouse cluster for the tests: one standalone ZooKeeper and ClickHouse servers (3 shards x 1
replica, or x 2 replicas as production runs the seed's table) from Debian's packages, on 127.0.0.1 free
ports, each with its native and HTTP interfaces in plain text and over TLS (a certificate signed by a
throwaway CA made at start, as the seed's cluster serves native TLS on 9440). Also a way to try chsync
against a real cluster:

    python tests/harness/cluster.py up --workdir /tmp/ch-cluster [--replicas 2]   # hosts, ports, clusters
    python tests/harness/cluster.py status --workdir /tmp/ch-cluster
    python tests/harness/cluster.py down --workdir /tmp/ch-cluster

Two cluster definitions over the same nodes: `replicated` (internal_replication=true, for Replicated
tables) and `plain` (false, for plain ReplacingMergeTree; ALTER ON CLUSTER fails with Code 371 otherwise).
Users: `default` (no password) and `chsync`, whose password is made up at each start and written to
WORKDIR/password (never printed, never in cluster.json); the CA certificate is WORKDIR/tls/ca.pem.
Packages: `bash .ci/install-cluster.sh` (clickhouse-server 18.16, zookeeper 3.8).

It lives with the tests, not in the chsync package: it is a harness, and a product should not ship one.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

CLICKHOUSE = "/usr/sbin/clickhouse-server"
ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"  # its manifest Class-Path lists its dependencies
# The manifest names slf4j-api but no binding: without one ZooKeeper logs nothing at all.
SLF4J_BINDING = "/usr/share/java/slf4j-simple.jar"
JAVA = "/usr/bin/java"
HOST = "127.0.0.1"
USER = "chsync"
SHARDS = 3
INSTALL_HINT = "run .ci/install-cluster.sh"


class HarnessError(RuntimeError):
    pass


class PortInUse(HarnessError):
    """Another process bound a port between our choosing it and the server binding it."""


def find_binaries() -> str | None:
    """None when everything is installed, else a one-line reason (for pytest.skip) naming the fix."""
    missing = [p for p in (CLICKHOUSE, ZOOKEEPER_JAR, JAVA) if not os.path.exists(p)]
    if missing:
        return f"ClickHouse cluster packages not installed (missing {', '.join(missing)}): {INSTALL_HINT}"
    return None


def require_binaries() -> None:
    problem = find_binaries()
    if problem:
        raise HarnessError(problem)


# -- configuration templates ---------------------------------------------------------------------

ZOO_CFG = """tickTime=2000
initLimit=10
syncLimit=5
dataDir={data}
clientPort={port}
clientPortAddress={host}
admin.enableServer=false
4lw.commands.whitelist=*
maxClientCnxns=200
"""

SHARD_XML = "<shard><internal_replication>{internal}</internal_replication>{replicas}</shard>"
REPLICA_XML = "<replica><host>{host}</host><port>{port}</port></replica>"

CONFIG_XML = """<?xml version="1.0"?>
<yandex>
  <logger><level>information</level><log>{dir}/server.log</log><errorlog>{dir}/server.err.log</errorlog>
    <size>100M</size><count>2</count></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <https_port>{https}</https_port>
  <tcp_port_secure>{tcps}</tcp_port_secure>
  <openSSL><server><certificateFile>{tls}/server.crt</certificateFile><privateKeyFile>{tls}/server.key</privateKeyFile>
    <verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile>
    <cacheSessions>true</cacheSessions><disableProtocols>sslv2,sslv3</disableProtocols>
    <preferServerCiphers>true</preferServerCiphers></server></openSSL>
  <interserver_http_port>{inter}</interserver_http_port>
  <interserver_http_host>{host}</interserver_http_host>
  <listen_host>{host}</listen_host>
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
  <timezone>{timezone}</timezone>
  <remote_servers>
    <{replicated}>{replicated_shards}</{replicated}>
    <{plain}>{plain_shards}</{plain}>
  </remote_servers>
  <zookeeper><node><host>{host}</host><port>{zk}</port></node><session_timeout_ms>15000</session_timeout_ms></zookeeper>
  <macros><shard>{shard}</shard><replica>replica{node}</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
"""

# poll_interval: an idle client connection holds a SIGTERMed 18.16 server for this long (default 10 s).
USERS_XML = """<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>4000000000</max_memory_usage><poll_interval>1</poll_interval></default>
  </profiles>
  <users>
    <default><password></password>{access}</default>
    <{user}><password>{password}</password>{access}</{user}>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows>
    <read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"""
ACCESS = "<networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota>"


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _since(logs: dict[Path, int]) -> dict[Path, str]:
    """What each log got since its offset (logs are appended to across restarts)."""
    new = {}
    for path, offset in logs.items():
        if _size(path) > offset:
            with open(path, "rb") as f:
                f.seek(offset)
                new[path] = f.read().decode(errors="replace").strip()
    return new


def _tail(new: dict[Path, str], lines: int = 8) -> str:
    parts = [f"{path} ends with:\n  " + "\n  ".join(text.splitlines()[-lines:]) for path, text in new.items()]
    return "\n".join(parts) or "(nothing new in its logs)"


# -- processes by pid (shared by stop() and `down`, which has no Popen objects) -------------------

def _is_running(pid: int, workdir: Path) -> bool:
    """True while `pid` is a live (non-zombie) process of this cluster; a reused pid is not ours."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return f"{workdir}/" in cmdline and state != "Z"


def _die_with_parent() -> None:
    """In the child before exec: PR_SET_PDEATHSIG, kept across exec."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # each process leads its own session (start_new_session)
    except ProcessLookupError:
        pass


def _terminate(pids: list[int], workdir: Path, timeout: float) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL what is left."""
    pids = [p for p in pids if _is_running(p, workdir)]
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        for pid in pids:
            _signal(pid, sig)
        deadline = time.monotonic() + wait
        while pids and time.monotonic() < deadline:
            time.sleep(0.05)
            pids = [p for p in pids if _is_running(p, workdir)]
        if not pids:
            return
    raise HarnessError(f"processes {pids} survived SIGKILL")


class LocalCluster:
    cluster_replicated = "replicated"
    cluster_plain = "plain"

    def __init__(self, workdir: str | Path, shards: int = SHARDS, *, replicas: int = 1, die_with_parent: bool = True,
                 timezone: str = "UTC"):
        """die_with_parent: the servers get SIGKILL when this process dies, even by SIGKILL or a
        `timeout` SIGTERM that skips pytest's finalizers. `up` turns it off to leave them running.

        Nodes are numbered shard by shard (node i is replica i % replicas + 1 of shard i // replicas + 1),
        so with one replica a node's number is its shard's; every per-node list below is in that order."""
        self.workdir = Path(workdir).resolve()
        self.shards = shards
        self.replicas = replicas
        self.timezone = timezone   # the servers' own zone (what a DateTime without one reads in)
        self.die_with_parent = die_with_parent
        self.procs: dict[str, subprocess.Popen] = {}
        self._log_offsets: dict[str, dict[Path, int]] = {}
        self.zk_port = 0
        self.tcp_ports: list[int] = []
        self.http_ports: list[int] = []
        self.interserver_ports: list[int] = []
        self.tcp_secure_ports: list[int] = []
        self.https_ports: list[int] = []
        self.password = secrets.token_urlsafe(12)

    # -- layout ----------------------------------------------------------------------------------
    @property
    def node_count(self) -> int:
        return self.shards * self.replicas

    def node_name(self, i: int) -> str:
        """shard2 (its only or first replica), shard2r2 (its second)."""
        shard, replica = divmod(i, self.replicas)
        return f"shard{shard + 1}" + (f"r{replica + 1}" if replica else "")

    def nodes_of_shard(self, shard: int) -> list[int]:
        return list(range(shard * self.replicas, (shard + 1) * self.replicas))

    @property
    def hosts(self) -> list[tuple[str, int]]:
        return [(HOST, p) for p in self.tcp_ports]

    @property
    def state_file(self) -> Path:
        return self.workdir / "cluster.json"

    @property
    def tls(self) -> Path:
        return self.workdir / "tls"

    @property
    def ca(self) -> Path:
        """The throwaway CA that signed every server's certificate."""
        return self.tls / "ca.pem"

    @property
    def other_ca(self) -> Path:
        """A CA that signed nothing here: a client trusting only it must refuse the servers."""
        return self.tls / "other-ca.pem"

    def describe(self) -> dict:
        """Everything a client needs except the password (WORKDIR/password: never stdout or cluster.json)."""
        return {"workdir": str(self.workdir), "hosts": self.hosts, "http_ports": self.http_ports,
                "tcp_secure_ports": self.tcp_secure_ports, "https_ports": self.https_ports, "ca": str(self.ca),
                "zk_port": self.zk_port, "cluster_replicated": self.cluster_replicated,
                "cluster_plain": self.cluster_plain, "user": USER,
                "pids": {name: p.pid for name, p in self.procs.items()}}

    def url(self, database: str, cluster: str | None = None, *, password: bool = True, shard: int = 0,
            http_port: bool = True, tls: bool = False, extra: str = "") -> str:
        """A sink URL for chsync: plain (native port, http_port named unless told not to), or TLS
        (clickhouses:// on the secure native port, with the CA)."""
        auth = f"{USER}:{self.password}" if password else "default"
        params = [f"cluster={cluster}"] if cluster else []
        if tls:
            params.append(f"ca_certs={self.ca}")
            params.append("tls_ports=" + ",".join(f"{p}:{s}" for p, s in zip(self.tcp_ports, self.tcp_secure_ports)))
            if http_port:
                params.append(f"http_port={self.https_ports[shard]}")
        elif http_port:
            params.append(f"http_port={self.http_ports[shard]}")
        if extra:
            params.append(extra)
        scheme, port = ("clickhouses", self.tcp_secure_ports[shard]) if tls else ("clickhouse", self.tcp_ports[shard])
        return f"{scheme}://{auth}@{HOST}:{port}/{database}" + ("?" + "&".join(params) if params else "")

    def client(self, shard: int = 0, **kw):
        from clickhouse_driver import Client
        return Client(HOST, port=self.tcp_ports[shard], **kw)

    def _shard_dir(self, i: int) -> Path:
        return self.workdir / self.node_name(i)

    def _certificates(self) -> None:
        """A throwaway CA, a certificate it signs for 127.0.0.1, and an unrelated CA (openssl)."""
        self.tls.mkdir(parents=True, exist_ok=True)
        if (self.tls / "server.crt").exists():
            return
        run = lambda *args: subprocess.run(["openssl", *args], cwd=self.tls, check=True, capture_output=True)
        for name in ("ca", "other-ca"):
            run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7", "-subj", f"/CN=chsync test {name}",
                "-keyout", f"{name}.key", "-out", f"{name}.pem")
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
            "-out", "server.csr")
        (self.tls / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "7", "-extfile", "san.cnf", "-out", "server.crt")

    def _configure(self) -> None:
        self._certificates()
        n = self.node_count
        ports = _free_ports(1 + 5 * n)
        self.zk_port, rest = ports[0], ports[1:]
        self.tcp_ports, self.http_ports, self.interserver_ports = rest[:n], rest[n:2 * n], rest[2 * n:3 * n]
        self.tcp_secure_ports, self.https_ports = rest[3 * n:4 * n], rest[4 * n:]
        secret = self.workdir / "password"
        secret.write_text(self.password)
        secret.chmod(0o600)
        zk = self.workdir / "zookeeper"
        (zk / "data").mkdir(parents=True, exist_ok=True)
        (zk / "zoo.cfg").write_text(ZOO_CFG.format(data=zk / "data", port=self.zk_port, host=HOST))
        replicas = ["".join(REPLICA_XML.format(host=HOST, port=self.tcp_ports[k]) for k in self.nodes_of_shard(s))
                    for s in range(self.shards)]
        shards = {flag: "".join(SHARD_XML.format(internal=flag, replicas=r) for r in replicas)
                  for flag in ("true", "false")}
        for i in range(n):
            d = self._shard_dir(i)
            for sub in ("data", "tmp", "user_files", "format_schemas"):
                (d / sub).mkdir(parents=True, exist_ok=True)
            (d / "config.xml").write_text(CONFIG_XML.format(
                dir=d, host=HOST, http=self.http_ports[i], tcp=self.tcp_ports[i], inter=self.interserver_ports[i],
                https=self.https_ports[i], tcps=self.tcp_secure_ports[i], tls=self.tls,
                zk=self.zk_port, shard=i // self.replicas + 1, node=i + 1,
                replicated=self.cluster_replicated, plain=self.cluster_plain,
                replicated_shards=shards["true"], plain_shards=shards["false"], timezone=self.timezone))
            (d / "users.xml").write_text(USERS_XML.format(user=USER, password=self.password, access=ACCESS))

    def _logs(self, name: str) -> list[Path]:
        """The process's stdout+stderr first: ClickHouse reports a bad config there, not in its log."""
        if name == "zookeeper":
            return [self.workdir / "zookeeper" / "zookeeper.log"]
        d = self.workdir / name
        return [d / "stdout.log", d / "server.err.log"]

    def _spawn(self, name: str, argv: list[str], cwd: Path) -> None:
        logs = self._logs(name)
        self._log_offsets[name] = {path: _size(path) for path in logs}
        with open(logs[0], "ab") as out:
            self.procs[name] = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                start_new_session=True, preexec_fn=_die_with_parent if self.die_with_parent else None)
        self._save_state()

    def _save_state(self) -> None:
        self.state_file.write_text(json.dumps(self.describe(), indent=2))

    def _reap(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc:
            proc.wait(10)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0, attempts: int = 3) -> LocalCluster:
        require_binaries()
        if self.procs:
            raise HarnessError(f"cluster in {self.workdir} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, attempts + 1):
            self._configure()  # fresh free ports each time
            try:
                self._start_all(timeout)
                return self
            except PortInUse:
                self.stop()
                if attempt == attempts:
                    raise
            except BaseException:
                self.stop()
                raise
        return self

    def _start_all(self, timeout: float) -> None:
        self.start_zookeeper(timeout)
        for i in range(self.node_count):
            self.start_shard(i, wait=False)
        for i in range(self.node_count):
            self.wait_shard(i, timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Servers first, ZooKeeper last (servers flush to it on the way down). Safe to call twice."""
        servers = [n for n in self.procs if n != "zookeeper"]
        try:
            _terminate([self.procs[n].pid for n in servers], self.workdir, timeout)
            if "zookeeper" in self.procs:
                _terminate([self.procs["zookeeper"].pid], self.workdir, timeout)
        finally:
            for name in list(self.procs):
                self._reap(name)
            self.state_file.unlink(missing_ok=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- ZooKeeper -------------------------------------------------------------------------------
    def start_zookeeper(self, timeout: float = 60.0) -> None:
        zk = self.workdir / "zookeeper"
        self._spawn("zookeeper", [
            JAVA, "-Xmx256m", "-XX:+UseSerialGC", "-cp", f"{zk}:{ZOOKEEPER_JAR}:{SLF4J_BINDING}",
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(zk / "zoo.cfg")], zk)
        self._wait_for(lambda: "Mode: standalone" in self.zookeeper_status(), "zookeeper", timeout)

    def zookeeper_status(self) -> str:
        """The `srvr` four-letter word; `ruok` says imok before the server can take sessions."""
        try:
            with socket.create_connection((HOST, self.zk_port), timeout=2) as s:
                s.sendall(b"srvr")
                return s.recv(4096).decode(errors="replace")
        except OSError:
            return ""

    def restart_zookeeper(self, timeout: float = 60.0, wait_ddl: bool = False) -> None:
        """Afterwards ON CLUSTER DDL fails with "Session expired" for ~5 s (wait_ddl=True waits that out)
        and Replicated tables are read-only for ~10 s, while system.zookeeper answers at once."""
        if "zookeeper" in self.procs:
            _terminate([self.procs["zookeeper"].pid], self.workdir, timeout)
            self._reap("zookeeper")
        self.start_zookeeper(timeout)
        if wait_ddl:
            self.wait_ddl(timeout)

    def wait_ddl(self, timeout: float = 60.0) -> None:
        """Until a no-op ON CLUSTER statement completes on every server."""
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                self.client().execute(f"CREATE DATABASE IF NOT EXISTS default ON CLUSTER {self.cluster_replicated}",
                                      settings={"distributed_ddl_task_timeout": 10})
                return
            except Exception as e:
                last = e
                time.sleep(0.5)
        raise HarnessError(f"ON CLUSTER DDL still failing after {timeout:.0f} s: {last}")

    # -- ClickHouse servers ----------------------------------------------------------------------
    # A node is named by its number (see __init__): with one replica per shard, the shard's.
    def start_shard(self, i: int, wait: bool = True, timeout: float = 60.0) -> None:
        name, d = self.node_name(i), self._shard_dir(i)
        if name in self.procs and self.procs[name].poll() is None:
            raise HarnessError(f"{name} is already running (pid {self.procs[name].pid})")
        self._spawn(name, [CLICKHOUSE, f"--config-file={d / 'config.xml'}"], d)
        if wait:
            self.wait_shard(i, timeout)

    def wait_shard(self, i: int, timeout: float = 60.0) -> None:
        """Until the server answers a ZooKeeper query: a server that gets ON CLUSTER DDL before it has
        its ZooKeeper session segfaults (18.16)."""
        self._wait_for(lambda: self._answers(i), self.node_name(i), timeout)

    def _answers(self, i: int) -> bool:
        try:  # a bare connect first: clickhouse-driver logs a traceback for each refused connection
            socket.create_connection((HOST, self.tcp_ports[i]), timeout=1).close()
            client = self.client(i, connect_timeout=1, send_receive_timeout=5)
            try:
                client.execute("SELECT count() FROM system.zookeeper WHERE path = '/'")
            finally:
                client.disconnect()
            return True
        except Exception:
            return False

    def hang_shard(self, i: int) -> None:
        """SIGSTOP: the server keeps its sockets open and answers nothing (a hung node, not a dead one)."""
        _signal(self.procs[self.node_name(i)].pid, signal.SIGSTOP)

    def wake_shard(self, i: int, timeout: float = 60.0) -> None:
        """SIGCONT, then until the node has its ZooKeeper session back and takes ON CLUSTER DDL again: a
        node woken after a long stop has lost its session, and DDL sent meanwhile finds it inactive."""
        _signal(self.procs[self.node_name(i)].pid, signal.SIGCONT)
        self.wait_shard(i, timeout)
        self.wait_ddl(timeout)

    def kill_shard(self, i: int) -> None:
        """SIGKILL, no shutdown: what a crashed or OOM-killed server looks like."""
        name = self.node_name(i)
        if name in self.procs:
            _signal(self.procs[name].pid, signal.SIGKILL)
            self._reap(name)
            self._save_state()

    # -- waiting ---------------------------------------------------------------------------------
    def _wait_for(self, ready, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        proc = self.procs[name]
        while time.monotonic() < deadline and proc.poll() is None:
            if ready():
                return
            time.sleep(0.1)
        new = _since(self._log_offsets[name])
        error = PortInUse if any("Address already in use" in text for text in new.values()) else HarnessError
        what = f"exited with code {proc.returncode}" if proc.poll() is not None else f"not ready after {timeout:.0f} s"
        raise error(f"{name} {what} while starting; {_tail(new)}")


# -- command line ----------------------------------------------------------------------------------

def _load_state(workdir: Path) -> dict | None:
    path = workdir / "cluster.json"
    return json.loads(path.read_text()) if path.exists() else None


def down(workdir: Path, timeout: float = 30.0) -> bool:
    """Stop a cluster started by `up` (another process) from the pids in cluster.json. False if none."""
    state = _load_state(workdir)
    if state is None:
        return False
    pids = state["pids"]
    _terminate([pid for name, pid in pids.items() if name != "zookeeper"], workdir, timeout)
    if "zookeeper" in pids:
        _terminate([pids["zookeeper"]], workdir, timeout)
    (workdir / "cluster.json").unlink(missing_ok=True)
    return True


def status(workdir: Path) -> dict | None:
    state = _load_state(workdir)
    if state is not None:
        state["running"] = {name: _is_running(pid, workdir) for name, pid in state["pids"].items()}
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/harness/cluster.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--workdir", default="chsync-cluster", help="config, data and logs (default: %(default)s)")
    parser.add_argument("--replicas", type=int, default=1, help="replicas per shard (default: %(default)s)")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir).resolve()
    try:
        if args.action == "up":
            current = status(workdir)
            if current and any(current["running"].values()):
                raise HarnessError(f"a cluster is already running in {workdir}: run `down` first")
            cluster = LocalCluster(workdir, replicas=args.replicas, die_with_parent=False).start()
            print(json.dumps(cluster.describe(), indent=2))
            print(f"sink URL: clickhouse://{USER}:$(cat {workdir}/password)@{HOST}:{cluster.tcp_ports[0]}/DATABASE"
                  f"?cluster={cluster.cluster_replicated}&http_port={cluster.http_ports[0]}  (TLS: clickhouses://"
                  f"...@{HOST}:{cluster.tcp_secure_ports[0]}/DATABASE?cluster={cluster.cluster_replicated}"
                  f"&ca_certs={cluster.ca}&http_port={cluster.https_ports[0]}&tls_ports="
                  + ",".join(f"{p}:{t}" for p, t in zip(cluster.tcp_ports, cluster.tcp_secure_ports)) + ")",
                  file=sys.stderr)
            cluster.procs.clear()  # leave them running; `down` stops them by pid
        elif args.action == "down":
            if not down(workdir):
                print(f"no cluster.json in {workdir}: nothing to stop", file=sys.stderr)
        else:
            current = status(workdir)
            print(json.dumps(current, indent=2) if current else f"not running (no cluster.json in {workdir})")
            return 0 if current and all(current["running"].values()) else 3
    except HarnessError as e:
        print(f"cluster: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
