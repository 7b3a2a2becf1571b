"""A real hot standby (streaming replica) of the session's embedded Postgres, for the tests that point
chsync's --source at a read replica:

    standby = HotStandby(primary_base, workdir).start()
    standby.caught_up()                      # every change of the primary replayed
    standby.url("db")                        # postgresql://postgres@127.0.0.1:<port>/db
    standby.pause_replay() / resume_replay()
    standby.configure(max_standby_streaming_delay="0", hot_standby_feedback="off")
    standby.stop()

Made with `pg_basebackup -R` (which writes standby.signal and primary_conninfo) and started with `pg_ctl`
on a free port. The binaries are found as chsync.embedded finds them; pg_basebackup may not be on $PATH
beside initdb (Debian links only a few binaries there), so the links are followed to the real bindir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from chsync import embedded


class HarnessError(RuntimeError):
    pass


def find_bindir() -> str | None:
    """The directory holding pg_basebackup and pg_ctl (embedded's bindir, its links followed)."""
    bindir = os.environ.get("CHSYNC_PG_BINDIR") or embedded.find_pg_bindir()
    if not bindir:
        return None
    for candidate in (bindir, os.path.dirname(os.path.realpath(os.path.join(bindir, "pg_ctl")))):
        if os.path.exists(os.path.join(candidate, "pg_basebackup")):
            return candidate
    return None


class HotStandby:
    def __init__(self, primary_base: str, workdir: Path | None = None):
        """`primary_base`: postgresql://user@host:port (no database), the primary to replicate."""
        parts = urlsplit(primary_base)
        self.primary_base = primary_base
        self.primary_host, self.primary_port = parts.hostname or "127.0.0.1", parts.port or 5432
        self.user = parts.username or "postgres"
        self.bindir = find_bindir()
        if self.bindir is None:
            raise HarnessError("no pg_basebackup found beside the embedded Postgres's pg_ctl")
        # As root, Postgres runs as the `postgres` user, which must reach the directory: not under pytest's
        # tmp_path (mode 700, root's), but a directory of its own under the system temp dir.
        self.root = Path(tempfile.mkdtemp(prefix="chsync-standby-", dir=workdir))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.data, self.sock, self.log = self.root / "data", self.root / "sock", self.root / "postgres.log"
        self.port = 0
        self.started = False

    @property
    def base(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}"

    def url(self, database: str) -> str:
        return f"{self.base}/{database}"

    def start(self, **settings: str) -> HotStandby:
        """Copy the primary (pg_basebackup -R) and start the copy as a hot standby with `settings`."""
        self._run("mkdir", "-p", str(self.sock))
        self._run(f"{self.bindir}/pg_basebackup", "-h", self.primary_host, "-p", str(self.primary_port),
                  "-U", self.user, "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self.port = embedded._free_port()
        # `settings` go to postgresql.auto.conf, where `configure` can change them: a -c option would
        # override the file for good
        self._write_settings(settings)
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c hot_standby=on -c fsync=off"
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.log),
                  "-o", opts, "start")
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=10)

    def configure(self, **settings: str) -> None:
        """Change reloadable settings (max_standby_streaming_delay, hot_standby_feedback) and reload."""
        self._write_settings(settings)
        with self.connect() as conn:
            conn.execute("SELECT pg_reload_conf()")
            deadline = time.monotonic() + 10
            while any(conn.execute("SELECT current_setting(%s)", (k,)).fetchone()[0] != v
                      for k, v in settings.items()):
                if time.monotonic() > deadline:
                    raise HarnessError(f"the standby did not take {settings}")
                time.sleep(0.05)

    def _write_settings(self, settings: dict[str, str]) -> None:
        auto = self.data / "postgresql.auto.conf"
        lines = [line for line in auto.read_text().splitlines()
                 if line.split("=", 1)[0].strip() not in settings]
        auto.write_text("\n".join([*lines, *(f"{k} = '{v}'" for k, v in settings.items())]) + "\n")

    def caught_up(self, timeout: float = 30.0) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        # the insert position, not pg_current_wal_lsn (the write position): the embedded primary commits
        # asynchronously, so a commit just made may not be written yet, and the standby would look caught up
        # before it replays it
        with psycopg.connect(f"{self.primary_base}/postgres", autocommit=True, connect_timeout=10) as primary:
            target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        with self.connect() as conn:
            deadline = time.monotonic() + timeout
            while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise HarnessError(f"the standby did not replay up to {target} within {timeout:g}s")
                time.sleep(0.05)

    def pause_replay(self) -> None:
        with self.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            deadline = time.monotonic() + 10
            while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
                if time.monotonic() > deadline:
                    raise HarnessError("the standby's replay did not pause")
                time.sleep(0.05)

    def resume_replay(self) -> None:
        with self.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def _run(self, *cmd: str) -> None:
        argv = ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            if self.log.exists():
                detail += self.log.read_text().strip().splitlines()[-5:]
            raise HarnessError(f"{cmd[0].rsplit('/', 1)[-1]} failed: {' | '.join(detail)}")

