"""Progress of a long step on stderr: a rich bar when stderr is a terminal, nothing when quiet (-q, --json).

When stderr is not a terminal (a pipe, a log file, CI) there is no bar and no escape codes: `lines=True`
prints one plain line per advance instead (the backfill's `[3/49] 2026-01-03 swapped`), `lines=False`
prints nothing (the step logs what matters itself). Only one bar is drawn at a time: a progress started
while another one is showing stays silent. `advance` may be called from several threads.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from . import log

_showing = threading.Lock()   # held while a bar is on screen


def bars_wanted() -> bool:
    """A bar is drawn only for a person watching: not quiet, and stderr is a terminal."""
    return not log.is_quiet() and sys.stderr.isatty()


class StepProgress:
    def __init__(self, total: int, title: str, *, lines: bool = False):
        self.total, self.title, self.lines, self.done = total, title, lines, 0
        self._lock = threading.Lock()
        self.bar: Any = None
        self.task: Any = None
        self._owner = False
        if bars_wanted() and _showing.acquire(blocking=False):
            self._owner = True
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=log.console(), transient=False)

    def __enter__(self) -> StepProgress:
        if self.bar:
            self.bar.start()
            self.task = self.bar.add_task(self.title, total=self.total)
        return self

    def advance(self, message: str, steps: int = 1) -> None:
        with self._lock:
            self.done += steps
            done = self.done
        if self.bar:
            self.bar.update(self.task, advance=steps, description=f"{self.title}: {message}")
        elif self.lines and not log.is_quiet():
            log.info(f"[{done}/{self.total}] {message}")

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()
        if self._owner:
            _showing.release()
