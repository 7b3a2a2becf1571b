"""Fault injection for crash-safety tests: CHSYNC_FAULT="fail|kill:<state>[:<day>]" makes a backfill
raise (fail) or die with SIGKILL (kill) right after the journal records <state> (for <day>, or any day)."""

from __future__ import annotations

import datetime as dt
import os
import signal

from ..errors import RuntimeFailure


def fault_point(state: str, day: dt.date | None = None) -> None:
    spec = os.environ.get("CHSYNC_FAULT")
    if not spec:
        return
    kind, _, rest = spec.partition(":")
    want_state, _, want_day = rest.partition(":")
    if want_state != state or (want_day and (day is None or want_day != day.isoformat())):
        return
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise RuntimeFailure(f"injected fault after {state}{f' of {day}' if day else ''} (CHSYNC_FAULT)")
