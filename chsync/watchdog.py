"""No network wait without an end. Drivers with a read timeout (clickhouse-driver, urllib, chDB's url())
use it; for those without one (libpq under ADBC and psycopg, chDB's postgresql()), a call is run under
`guard(seconds, what, peer=(host, port))`, and a background thread acts when the call has not come back
in time:

1. it shuts down this process's TCP connections to `peer` (a blocked read then returns at once, in any
   driver: the socket is the kernel's, whoever holds it), and the guard turns whatever the call does next
   into one RuntimeFailure naming `what`: the run fails as any failed read does, so the journal records
   the day and the run as failed and the lock is released;
2. when that finds no connection to shut, or the call still has not come back GRACE_SECONDS later, it
   ends the process (exit 4) with the same one line: a blocked C call cannot be interrupted from Python.
   Nothing was half-done by the blocked read (reads come before any write of a day); the journal then
   still shows the run as running, and `--resume` picks it up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator

from .errors import EXIT_RUNTIME, RuntimeFailure
from .secrets import redact

_lock = threading.Lock()
_tokens = itertools.count()
_thread: threading.Thread | None = None
POLL_SECONDS = 0.2
GRACE_SECONDS = 10.0     # after the connections were shut: time for the blocked call to come back


@dataclasses.dataclass
class _Deadline:
    at: float                               # monotonic time
    seconds: float
    what: str
    peer: tuple[str, int] | None
    interrupted: bool = False               # the peer's connections were shut: the call fails

    def message(self) -> str:
        return (f"{redact(self.what)} did not answer within {self.seconds:g}s (the read timeout): the run stops "
                "here; what was not yet changed is untouched, and `--resume` (or running the same command "
                "again) continues once it answers")


_deadlines: dict[int, _Deadline] = {}


@contextlib.contextmanager
def guard(seconds: float, what: str, peer: tuple[str, int] | None = None) -> Iterator[None]:
    """Run the body under a deadline of `seconds`; `what` names the peer (e.g. "Postgres at host:port"),
    `peer` is its (host, port), whose connections are shut when the deadline passes."""
    token = next(_tokens)
    deadline = _Deadline(time.monotonic() + seconds, seconds, what, peer)
    with _lock:
        _deadlines[token] = deadline
        _start()
    try:
        yield
    except BaseException:
        if _done(token):
            raise RuntimeFailure(deadline.message()) from None
        raise
    if _done(token):
        raise RuntimeFailure(deadline.message())


def _done(token: int) -> bool:
    """Forget the deadline; True when it had passed and its connections were shut."""
    with _lock:
        deadline = _deadlines.pop(token, None)
    return deadline is not None and deadline.interrupted


def _start() -> None:
    global _thread
    if _thread is None or not _thread.is_alive():
        _thread = threading.Thread(target=_watch, name="chsync-watchdog", daemon=True)
        _thread.start()


def _watch() -> None:
    while True:
        time.sleep(POLL_SECONDS)
        now = time.monotonic()
        with _lock:  # held while shutting: a guard that exits meanwhile still sees that it was interrupted
            for deadline in _deadlines.values():
                if now <= deadline.at:
                    continue
                if deadline.interrupted or not (deadline.peer and shut_connections(*deadline.peer)):
                    print(f"chsync: error: {deadline.message()}", file=sys.stderr, flush=True)
                    os._exit(EXIT_RUNTIME)
                deadline.interrupted, deadline.at = True, now + GRACE_SECONDS


def shut_connections(host: str, port: int) -> int:
    """Shut down (both directions) every TCP connection of this process to host:port; how many there were.
    Only the connections end: their descriptors stay with the drivers that own them, which see the
    connection closed. Linux (/proc/self/fd); elsewhere none are found."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return 0
    shut = 0
    for name in fds:
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            copy = os.dup(int(name))     # a duplicate: closing it closes nothing the driver holds
        except OSError:
            continue                     # closed meanwhile
        try:
            sock = socket.socket(fileno=copy)
        except OSError:
            os.close(copy)
            continue
        with sock:
            try:
                if sock.family not in (socket.AF_INET, socket.AF_INET6):
                    continue
                peer = sock.getpeername()
                if peer[1] == port and peer[0].removeprefix("::ffff:") in addresses:
                    sock.shutdown(socket.SHUT_RDWR)
                    shut += 1
            except OSError:
                continue                 # not connected (a listening socket), or closed meanwhile
    return shut
