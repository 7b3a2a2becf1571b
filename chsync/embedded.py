"""A throwaway Postgres (system binaries via initdb/pg_ctl, or the `pgserver` wheel) and a chDB directory.

`up` is idempotent (a running instance is reused) and `down` stops only what `up` started.
As root, initdb refuses to run: the cluster is owned by the `postgres` user and kept in a directory
it can reach (under the system temp dir), recorded in `<workdir>/embedded.json`.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .errors import RuntimeFailure

STATE = "embedded.json"
DATABASE = "chsync"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_pg_bindir() -> str | None:
    """Directory holding initdb and pg_ctl: $PATH first, then Debian's /usr/lib/postgresql/N/bin (newest)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return os.path.dirname(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    return os.path.dirname(candidates[-1]) if candidates else None


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    if not shutil.which("runuser"):
        raise RuntimeFailure("running as root needs `runuser` to start Postgres as an unprivileged user")
    return ["runuser", "-u", "postgres", "--", *cmd]


def _data_root(workdir: Path) -> Path:
    if os.geteuid() != 0:
        return workdir / "pg"
    digest = hashlib.sha1(str(workdir).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"chsync-embedded-{digest}"


def _load_state(workdir: Path) -> dict | None:
    try:
        return json.loads((workdir / STATE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _alive(state: dict) -> bool:
    import psycopg
    try:
        psycopg.connect(state["source"], connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


def urls(state: dict) -> dict:
    return {"source": state["source"], "sink": state["sink"]}


def status(workdir: str | Path) -> dict:
    workdir = Path(workdir).resolve()
    state = _load_state(workdir)
    if not state:
        return {"running": False, "workdir": str(workdir)}
    return {"running": _alive(state), "workdir": str(workdir), "backend": state["backend"], **urls(state)}


def up(workdir: str | Path) -> dict:
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    state = _load_state(workdir)
    if state and _alive(state):
        return urls(state)
    bindir = os.environ.get("CHSYNC_PG_BINDIR") or find_pg_bindir()
    if bindir and os.environ.get("CHSYNC_PG_BACKEND") != "pgserver":
        state = _start_system(workdir, bindir)
    else:
        state = _start_pgserver(workdir)
    state["sink"] = f"chdb://{workdir / 'chdb'}"
    _create_database(state["admin"])
    (workdir / STATE).write_text(json.dumps(state, indent=2))
    return urls(state)


def _start_system(workdir: Path, bindir: str) -> dict:
    root = _data_root(workdir)
    data, sock = root / "data", root / "sock"
    if os.geteuid() == 0:
        root.mkdir(mode=0o700, exist_ok=True)
        shutil.chown(root, "postgres", "postgres")
    root.mkdir(parents=True, exist_ok=True)
    _run(_as_postgres(["mkdir", "-p", str(sock)]), "create the socket directory")
    if not (data / "PG_VERSION").exists():
        _run(_as_postgres([f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                           "--no-locale", "--no-sync"]), "initdb")
    port = _free_port()
    opts = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            f"-c full_page_writes=off -c max_wal_size=4GB -c TimeZone=UTC")
    _run(_as_postgres([f"{bindir}/pg_ctl", "-D", str(data), "-w", "-t", "60", "-l", str(root / "postgres.log"),
                       "-o", opts, "start"]), "pg_ctl start", log=root / "postgres.log")
    return {"backend": "system", "bindir": bindir, "data": str(data), "port": port,
            "admin": f"postgresql://postgres@127.0.0.1:{port}/postgres",
            "source": f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"}


def _start_pgserver(workdir: Path) -> dict:
    try:
        import pgserver
    except ImportError:
        raise RuntimeFailure("no Postgres found: install PostgreSQL server binaries (apt-get install "
                             "postgresql) or the wheel (pip install pgserver)") from None
    server = pgserver.get_server(str(workdir / "pgserver"), cleanup_mode=None)
    uri = server.get_uri()
    return {"backend": "pgserver", "data": str(workdir / "pgserver"), "admin": uri,
            "source": uri.rsplit("/", 1)[0] + f"/{DATABASE}" if "?" not in uri else
            uri.replace("/postgres?", f"/{DATABASE}?")}


def _create_database(admin_dsn: str) -> None:
    import psycopg
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(f"CREATE DATABASE {DATABASE}")


def down(workdir: str | Path, *, purge: bool = False) -> dict:
    """Stop the Postgres `up` started for WORKDIR. Its data stays (the next `up` starts it again with
    everything in it) unless `purge`, which also removes the Postgres data and the chDB directory."""
    workdir = Path(workdir).resolve()
    state = _load_state(workdir)
    if state:
        if state["backend"] == "system":
            if Path(state["data"], "postmaster.pid").exists():
                _run(_as_postgres([f"{state['bindir']}/pg_ctl", "-D", state["data"], "-m", "fast", "-w", "stop"]),
                     "pg_ctl stop")
        else:
            _stop_by_pid(Path(state["data"]))
        (workdir / STATE).unlink()
    if purge:
        for data in (_data_root(workdir), workdir / "pg", workdir / "pgserver", workdir / "chdb"):
            shutil.rmtree(data, ignore_errors=True)
    if not state:
        return {"stopped": False, "purged": purge, "reason": "nothing was started here"}
    return {"stopped": True, "purged": purge}


def _stop_by_pid(data: Path, timeout: float = 30.0) -> None:
    """Fast shutdown (SIGINT) of the postmaster of `data`, waiting for it to exit. pgserver's own
    cleanup is reference-counted per process and may leave the server running."""
    pidfile = data / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise RuntimeFailure(f"Postgres (pid {pid}) of {data} did not stop within {timeout:.0f}s")


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        if log and log.exists():
            detail += log.read_text().strip().splitlines()[-3:]
        raise RuntimeFailure(f"{what} failed: {' | '.join(detail)}")
