"""Real components only: one embedded Postgres per test session, a fresh database and chDB dir per test,
and, for tests that ask for it, one local 3-shard ClickHouse 18.16 cluster per session.

`backend` runs a test body against chDB and against the cluster alike: it is an `Env` whose sink is the
embedded chDB directory or a fresh database on the cluster (init done, the seed's layout: Replicated
local tables sharded by cityHash64)."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from chsync import embedded
from chsync.sink import open_sink
from chsync.spec import TableSpec, load_specs

_counter = itertools.count()


def seed_spec(**sink) -> TableSpec:
    """The shipped seed spec, optionally with another sink database (`database=`)."""
    return load_specs(None)[0].with_sink(**sink)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("embedded")
    urls = embedded.up(workdir)
    yield urls["source"].rsplit("/", 1)[0]
    embedded.down(workdir, purge=True)


def _session_cluster(tmp_path_factory, replicas: int, timezone: str = "UTC"):
    from harness.cluster import LocalCluster, find_binaries
    problem = find_binaries()
    if problem:
        pytest.skip(problem)
    cluster = LocalCluster(tmp_path_factory.mktemp(f"cluster-r{replicas}"), replicas=replicas, timezone=timezone)
    cluster.start()  # cleans up after itself if it fails
    try:
        yield cluster
    finally:  # servers also die with this process (PR_SET_PDEATHSIG) if pytest itself is killed
        cluster.stop()


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory):
    """3 shards x 1 replica."""
    yield from _session_cluster(tmp_path_factory, 1)


@pytest.fixture(scope="session")
def replica_cluster(tmp_path_factory):
    """3 shards x 2 replicas, as production runs the seed's ReplicatedReplacingMergeTree; the servers run in a
    half-hour zone, which must change no answer (chsync's own columns name their zone)."""
    yield from _session_cluster(tmp_path_factory, 2, "Asia/Kolkata")


class Env:
    """One source database + one sink (a chDB directory unless pointed elsewhere), and the CLI pointed at
    them (with `config` as --config when set)."""

    def __init__(self, base: str, tmp: Path):
        self.db = f"t{os.getpid()}_{next(_counter)}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.db}")
        self.source = f"{base}/{self.db}"
        self.sink_url = f"chdb://{tmp / 'chdb'}"
        self.tmp = tmp
        self.config: str | None = None
        self.cluster = None          # the LocalCluster when the sink is on it
        self.backend = "chdb"

    def pg(self):
        return psycopg.connect(self.source, autocommit=True, options="-c TimeZone=UTC")

    @contextlib.contextmanager
    def sink(self, spec: TableSpec | None = None):
        """In-process sink; closed on exit so CLI subprocesses can open the directory."""
        s = open_sink(self.sink_url, spec or seed_spec())
        try:
            yield s
        finally:
            s.close()

    def environ(self, extra: dict | None = None) -> dict:
        """The environment of a CLI subprocess pointed at this source and sink."""
        return {**os.environ, "CHSYNC_SOURCE": self.source, "CHSYNC_SINK": self.sink_url, **(extra or {})}

    def argv(self, *args: str) -> list[str]:
        config = ["--config", self.config] if self.config else []
        return [sys.executable, "-m", "chsync", *config, *args]

    def cli(self, *args: str, env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
        done = subprocess.run(self.argv(*args), capture_output=True, text=True, env=self.environ(env), timeout=600)
        if check and done.returncode != 0:
            raise AssertionError(f"chsync {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def cli_json(self, *args: str, expect: int = 0) -> dict:
        done = self.cli(*args, "--json")
        assert done.returncode == expect, done.stderr
        try:
            return json.loads(done.stdout)
        except json.JSONDecodeError:   # a crash exits 1 too: show what it said
            raise AssertionError(f"chsync {' '.join(args)} printed no JSON:\n{done.stderr}") from None


@pytest.fixture
def env(pg_server, tmp_path):
    return Env(pg_server, tmp_path)


_cluster_db = itertools.count()


def on_cluster(env: Env, local_cluster, tmp_path: Path, *, layout: str = "replicated", extra: str = "",
               tls: bool = False, http_port: bool = True, shard: int = 0) -> Env:
    """Point `env`'s sink at a fresh database on the cluster (`layout`: "replicated" = Replicated local
    tables sharded by cityHash64, "plain" = plain tables sharded by rand()) and init it. `tls`: through the
    native TLS port with the throwaway CA; `http_port`: name the HTTP port in the URL; `shard`: the node
    chsync talks to."""
    cluster, replicated, key = {"replicated": ("replicated", "1", "cityHash64(toString(conversation_id))"),
                                "plain": ("plain", "0", "rand()")}[layout]
    env.db = f"chsync_t{os.getpid()}_{next(_cluster_db)}"
    env.sink_url = local_cluster.url(env.db, cluster, extra=f"replicated={replicated}" + (f"&{extra}" if extra else ""),
                                     tls=tls, http_port=http_port, shard=shard)
    cfg = tmp_path / "spec.toml"
    cfg.write_text(f"[sink]\nsharding_key = '{key}'\n")
    env.config, env.cluster, env.backend, env.layout = str(cfg), local_cluster, "cluster", layout
    env.cluster_name = cluster
    init_seed_sink(env)
    return env


def init_seed_sink(env: Env) -> None:
    """`chsync init` of the seed's table. init checks the spec against Postgres, so the seed's source
    tables are there while it runs; dropped after, the source is as empty as a test expects it (its own
    World, or `generate`, which only replaces tables it made)."""
    from builders import World

    from chsync.demo import schema
    with env.pg() as conn:
        World(conn)
    env.cli("init", check=True)
    with env.pg() as conn:
        conn.execute(schema.DROP)


def cluster_spec(env: Env) -> TableSpec:
    """The spec `env` uses on the cluster (the seed's, with the layout's sharding key)."""
    key = {"replicated": "cityHash64(toString(conversation_id))", "plain": "rand()"}[env.layout]
    spec = seed_spec()
    return dataclasses.replace(spec, sink=dataclasses.replace(spec.sink, sharding_key=key))


def drop_cluster_database(env: Env) -> None:
    from clickhouse_driver import Client
    for _ in range(30):  # after a ZooKeeper restart the first tries may see "Session expired"
        try:   # bounded: a node a failed test left down must not hang the session
            Client("127.0.0.1", port=env.cluster.tcp_ports[0], send_receive_timeout=90,
                   settings={"distributed_ddl_task_timeout": 60}).execute(
                f"DROP DATABASE IF EXISTS {env.db} ON CLUSTER {env.cluster_name}")
            return
        except Exception:
            time.sleep(1)


@pytest.fixture(params=["chdb", pytest.param("cluster", marks=pytest.mark.cluster),
                        pytest.param("replicas", marks=pytest.mark.cluster)])
def backend(request, env, tmp_path):
    """The same test body on chDB, on the 3-shard cluster and on 3 shards x 2 replicas."""
    if request.param == "chdb":
        init_seed_sink(env)
        yield env
        return
    cluster = request.getfixturevalue("local_cluster" if request.param == "cluster" else "replica_cluster")
    yield on_cluster(env, cluster, tmp_path)
    drop_cluster_database(env)


@dataclasses.dataclass
class ScopeReport:
    world: Env        # the generated source and sink
    out: Path         # the --out directory
    doc: dict         # the JSON document printed on stdout


@pytest.fixture(scope="session")
def scope_report(pg_server, tmp_path_factory) -> ScopeReport:
    """A small generated world (scale 0.01) and `chsync scope --out DIR --json` over its 49 days.
    Shared by the session: tests only read it."""
    world = Env(pg_server, tmp_path_factory.mktemp("scope-report"))
    world.cli("generate", "--scale", "0.01", check=True)
    out = world.tmp / "report"
    return ScopeReport(world, out, world.cli_json("scope", "--from", "2026-01-01", "--to", "2026-02-18",
                                                  "--out", str(out)))
