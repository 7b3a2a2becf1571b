"""No network wait without an end. Drivers with a read timeout (clickhouse-driver, urllib, chDB's url())
use it; for those without one (libpq under ADBC and psycopg, chDB's postgresql()), a call is run under
`guard(seconds, what)`, and a background thread ends the process (exit 4) with one line naming `what`
when the call has not come back in time. A blocked C call cannot be interrupted from Python, so the
process exits: nothing was half-done by the blocked read (reads come before any write of a day), the
journal still shows the run as running, and `--resume` picks it up."""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time

from .errors import EXIT_RUNTIME
from .secrets import redact

_lock = threading.Lock()
_deadlines: dict[int, tuple[float, float, str]] = {}   # token -> (deadline, seconds, what)
_tokens = itertools.count()
_thread: threading.Thread | None = None
POLL_SECONDS = 0.2


@contextlib.contextmanager
def guard(seconds: float, what: str):
    """Run the body under a deadline of `seconds`; `what` names the peer (e.g. "Postgres at host:port")."""
    token = next(_tokens)
    with _lock:
        _deadlines[token] = (time.monotonic() + seconds, seconds, what)
        _start()
    try:
        yield
    finally:
        with _lock:
            _deadlines.pop(token, None)


def _start() -> None:
    global _thread
    if _thread is None or not _thread.is_alive():
        _thread = threading.Thread(target=_watch, name="chsync-watchdog", daemon=True)
        _thread.start()


def _watch() -> None:
    while True:
        time.sleep(POLL_SECONDS)
        now = time.monotonic()
        with _lock:
            late = [(seconds, what) for deadline, seconds, what in _deadlines.values() if now > deadline]
        if late:
            seconds, what = late[0]
            print(f"chsync: error: {redact(what)} did not answer within {seconds:g}s (the read timeout): the run "
                  "stops here; what was not yet changed is untouched, and `--resume` (or running the same "
                  "command again) continues once it answers", file=sys.stderr, flush=True)
            os._exit(EXIT_RUNTIME)
