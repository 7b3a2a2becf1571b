"""A Prometheus Pushgateway for the tests: Debian's prometheus-pushgateway on a free 127.0.0.1 port,
with its persistence file in its own work directory (Debian's default is under /var/lib/prometheus),
stopped on exit and killed with this process if it dies first.

    with LocalPushgateway(tmp_path) as gateway:
        push(gateway.url, registry, ...)
        text = gateway.metrics_text()
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

BINARY = "/usr/bin/prometheus-pushgateway"
HOST = "127.0.0.1"
INSTALL_HINT = "apt-get install prometheus-pushgateway (scripts/test.sh does when it may use apt)"
# A loopback gateway is never behind the proxy an environment may name.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HarnessError(RuntimeError):
    pass


class PortInUse(HarnessError):
    """Another process bound the port between our choosing it and the gateway binding it."""


def find_binary() -> str | None:
    """None when the gateway is installed, else a one-line reason (for pytest.skip) naming the fix."""
    return None if Path(BINARY).exists() else f"Pushgateway not installed (no {BINARY}): {INSTALL_HINT}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: PR_SET_PDEATHSIG, kept across exec."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


class LocalPushgateway:
    def __init__(self, workdir: str | Path):
        self.workdir = Path(workdir).resolve()
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "pushgateway.log"

    def metrics_text(self) -> str:
        """What Prometheus would scrape: every pushed group, plus the gateway's own metrics."""
        with _DIRECT.open(f"{self.url}/metrics", timeout=10) as response:
            return response.read().decode()

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 30.0, attempts: int = 3) -> LocalPushgateway:
        problem = find_binary()
        if problem:
            raise HarnessError(problem)
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, attempts + 1):
            self.port = free_port()  # a fresh one each time
            try:
                self._spawn()
                self._wait_ready(timeout)
                return self
            except PortInUse:
                self.stop()
                if attempt == attempts:
                    raise
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`. Safe to call twice."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> LocalPushgateway:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn(self) -> None:
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [BINARY, f"--web.listen-address={HOST}:{self.port}",
                 f"--persistence.file={self.workdir / 'pushgateway.data'}"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir,
                start_new_session=True, preexec_fn=_die_with_parent)

    def _ready(self) -> bool:
        try:
            with _DIRECT.open(f"{self.url}/-/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self._ready():
                return
            time.sleep(0.05)
        with open(self.log, "rb") as f:
            f.seek(self._log_offset)
            new = f.read().decode(errors="replace").strip()
        error = PortInUse if "address already in use" in new else HarnessError
        what = f"exited with code {self.proc.returncode}" if self.proc.poll() is not None \
            else f"not ready after {timeout:.0f} s"
        tail = "\n  ".join(new.splitlines()[-8:]) or "(nothing in its log)"
        raise error(f"pushgateway on port {self.port} {what} while starting; {self.log} ends with:\n  {tail}")
