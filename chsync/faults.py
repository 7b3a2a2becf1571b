"""Fault injection for crash-safety tests: CHSYNC_FAULT="fail|kill|pause:<point>[:<day>]" (several, comma
separated) acts right after the journal records the state <point> (for <day>, or the first that comes),
or at one of the named points that are not journal states ("read": just before a day's source read;
"pull": just before the sink reads a window of days from Postgres, named by its first day (pull mode);
"lock": just before a writer takes the table's lock; "batch": after each batch of a pushed day is
staged; "check": just before a sync compares its lookback days, named by the first of them). The actions:

- fail: raise a RuntimeFailure (exit 4), as a failed query would;
- kill: the process sends itself SIGKILL;
- pause: the process writes {"pid", "point", "day"} to $CHSYNC_FAULT_DIR/paused and waits there until
  $CHSYNC_FAULT_DIR/resume exists, so a test can act at that moment from outside (send a real `kill -9`,
  terminate a Postgres backend, ...). It gives up after CHSYNC_FAULT_TIMEOUT seconds (default 300). Once
  told to resume it removes both files, so a later pause can be announced the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

from .errors import RuntimeFailure


def fault_point(state: str, day: dt.date | None = None) -> None:
    for spec in os.environ.get("CHSYNC_FAULT", "").split(","):
        if spec:
            _act(spec, state, day)


def _act(spec: str, state: str, day: dt.date | None) -> None:
    kind, _, rest = spec.partition(":")
    want_state, _, want_day = rest.partition(":")
    if want_state != state or (want_day and (day is None or want_day != day.isoformat())):
        return
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "pause":
        _pause(state, day)
        return
    raise RuntimeFailure(f"injected fault after {state}{f' of {day}' if day else ''} (CHSYNC_FAULT)")


def _pause(state: str, day: dt.date | None) -> None:
    announced = os.environ.get("CHSYNC_FAULT_DIR")
    if not announced:
        raise RuntimeFailure("CHSYNC_FAULT=pause:... needs CHSYNC_FAULT_DIR (where to announce the pause)")
    folder = Path(announced)
    note = folder / "paused.tmp"
    note.write_text(json.dumps({"pid": os.getpid(), "point": state, "day": day.isoformat() if day else None}))
    note.replace(folder / "paused")  # atomic: a reader never sees half a file
    deadline = time.monotonic() + float(os.environ.get("CHSYNC_FAULT_TIMEOUT", "300"))
    while not (folder / "resume").exists():
        if time.monotonic() > deadline:
            raise RuntimeFailure(f"paused at {state} (CHSYNC_FAULT) and never told to resume")
        time.sleep(0.02)
    (folder / "paused").unlink(missing_ok=True)
    (folder / "resume").unlink(missing_ok=True)
