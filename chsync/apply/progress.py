"""Progress on stderr: a rich bar on a terminal, plain lines otherwise, nothing when quiet."""

from __future__ import annotations

import sys

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .. import log


class DayProgress:
    def __init__(self, total: int, title: str):
        self.total, self.title, self.done = total, title, 0
        self.bar = None
        if not log.is_quiet() and sys.stderr.isatty():
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=log.console(), transient=False)

    def __enter__(self):
        if self.bar:
            self.bar.start()
            self.task = self.bar.add_task(self.title, total=self.total)
        return self

    def advance(self, message: str) -> None:
        self.done += 1
        if self.bar:
            self.bar.update(self.task, advance=1, description=f"{self.title}: {message}")
        else:
            log.info(f"[{self.done}/{self.total}] {message}")

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()
