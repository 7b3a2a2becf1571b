"""Progress bars: drawn on stderr when it is a terminal (a real pseudo-terminal here), never under --json,
never when stderr is piped — and stdout stays one parseable JSON document."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading

BAR = "━"      # rich's bar glyph
ESC = "\x1b"   # start of any ANSI escape sequence
RANGE = ("--from", "2026-01-01", "--to", "2026-02-18")


def _environ(world) -> dict:
    return {**os.environ, "CHSYNC_SOURCE": world.source, "CHSYNC_SINK": world.sink_url, "TERM": "xterm-256color",
            "COLUMNS": "120"}


def on_terminal(world, *args: str) -> tuple[int, str, str]:
    """Run chsync with stderr on a pseudo-terminal (stdout piped): (exit code, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "chsync", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, env=_environ(world))
    os.close(slave)
    screen = bytearray()

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:   # EIO: the child and everything it started closed the terminal
                return
            if not data:
                return
            screen.extend(data)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=600)
    reader.join(timeout=30)
    os.close(master)
    return code, out, screen.decode(errors="replace")


def test_bars_on_a_terminal(env):
    code, _, screen = on_terminal(env, "generate", "--scale", "0.002")
    assert code == 0, screen
    assert BAR in screen and "generate" in screen and "52/52" in screen, screen
    code, _, screen = on_terminal(env, "sync", "--from", "2026-01-01", "--to", "2026-01-03")
    assert code == 0 and BAR in screen and "sync" in screen and "3/3" in screen, screen
    code, _, screen = on_terminal(env, "diff", *RANGE, "--mode", "push")  # Postgres hashes, day by day
    assert code == 1 and BAR in screen and "compare" in screen and "50/50" in screen, screen
    code, _, screen = on_terminal(env, "diff", *RANGE, "--mode", "pull")  # the sink reads, hashes, joins
    assert code == 1 and BAR in screen and "compare in the sink" in screen and "1/1" in screen, screen  # 1 window
    code, _, screen = on_terminal(env, "backfill", "--from", "2026-01-20", "--to", "2026-01-21", "--yes")
    assert code == 0 and BAR in screen and "backfill" in screen, screen


def test_no_bar_under_json_even_on_a_terminal(scope_report):
    code, out, screen = on_terminal(scope_report.world, "scope", *RANGE, "--json")
    assert code == 0 and BAR not in screen and ESC not in screen, screen
    assert json.loads(out) == scope_report.doc


def test_no_bar_when_stderr_is_piped(scope_report):
    for extra in ((), ("--json",)):
        done = subprocess.run([sys.executable, "-m", "chsync", "scope", *RANGE, *extra], capture_output=True,
                              text=True, env=_environ(scope_report.world), timeout=600)
        assert done.returncode == 0, done.stderr
        assert BAR not in done.stderr and ESC not in done.stderr and ESC not in done.stdout, done.stderr
        if extra:
            assert json.loads(done.stdout) == scope_report.doc
