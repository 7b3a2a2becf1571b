"""Real components only: one embedded Postgres per test session, a fresh database and chDB dir per test."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import subprocess
import sys
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
    embedded.down(workdir)


class Env:
    """One source database + one chDB directory, and the CLI pointed at them."""

    def __init__(self, base: str, tmp: Path):
        self.db = f"t{os.getpid()}_{next(_counter)}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.db}")
        self.source = f"{base}/{self.db}"
        self.sink_url = f"chdb://{tmp / 'chdb'}"
        self.tmp = tmp

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
        return [sys.executable, "-m", "chsync", *args]

    def cli(self, *args: str, env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
        done = subprocess.run(self.argv(*args), capture_output=True, text=True, env=self.environ(env), timeout=600)
        if check and done.returncode != 0:
            raise AssertionError(f"chsync {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def cli_json(self, *args: str, expect: int = 0) -> dict:
        done = self.cli(*args, "--json")
        assert done.returncode == expect, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def env(pg_server, tmp_path):
    return Env(pg_server, tmp_path)


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
