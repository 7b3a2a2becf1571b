"""`chsync embedded up/down/status`: idempotent, prints the DSNs, stops only what it started."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "chsync", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def _lifecycle(workdir, env=None):
    first = _cli("embedded", "up", "--workdir", str(workdir), "--json", env=env)
    assert first.returncode == 0, first.stderr
    urls = json.loads(first.stdout)
    assert urls["source"].startswith("postgresql://") and urls["sink"] == f"chdb://{workdir}/chdb"
    with psycopg.connect(urls["source"]) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "chsync"
    again = _cli("embedded", "up", "--workdir", str(workdir), "--json", env=env)
    assert json.loads(again.stdout) == urls, "a second `up` must reuse the running instance"
    status = json.loads(_cli("embedded", "status", "--workdir", str(workdir), "--json").stdout)
    assert status["running"] is True
    with psycopg.connect(urls["source"], autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
    down = _cli("embedded", "down", "--workdir", str(workdir))
    assert down.returncode == 0 and down.stdout.strip() == "stopped"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(urls["source"], connect_timeout=3)
    assert json.loads(_cli("embedded", "status", "--workdir", str(workdir), "--json").stdout)["running"] is False
    assert _cli("embedded", "down", "--workdir", str(workdir)).stdout.strip() == "nothing was started here"

    # `down` keeps the data, as its help says: the next `up` has it all; --purge deletes it
    back = json.loads(_cli("embedded", "up", "--workdir", str(workdir), "--json", env=env).stdout)
    with psycopg.connect(back["source"]) as conn:
        assert conn.execute("SELECT to_regclass('kept') IS NOT NULL").fetchone()[0], "down lost the data"
    purged = _cli("embedded", "down", "--workdir", str(workdir), "--purge")
    assert purged.returncode == 0 and purged.stdout.strip() == "stopped; its data deleted"
    fresh = json.loads(_cli("embedded", "up", "--workdir", str(workdir), "--json", env=env).stdout)
    with psycopg.connect(fresh["source"]) as conn:
        assert conn.execute("SELECT to_regclass('kept') IS NULL").fetchone()[0], "--purge kept the data"
    _cli("embedded", "down", "--workdir", str(workdir), "--purge")


def test_system_postgres_lifecycle(tmp_path):
    _lifecycle(tmp_path / "wd")


def test_pgserver_wheel_lifecycle(tmp_path):
    pytest.importorskip("pgserver", reason="pip install pgserver (part of the [embedded] extra)")
    _lifecycle(tmp_path / "wd", env={"CHSYNC_PG_BACKEND": "pgserver"})


def test_pgserver_down_in_the_process_that_started_it(tmp_path, monkeypatch):
    pytest.importorskip("pgserver", reason="pip install pgserver (part of the [embedded] extra)")
    from chsync import embedded
    monkeypatch.setenv("CHSYNC_PG_BACKEND", "pgserver")
    urls = embedded.up(tmp_path / "wd")
    assert embedded.down(tmp_path / "wd", purge=True) == {"stopped": True, "purged": True}
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(urls["source"], connect_timeout=3)
