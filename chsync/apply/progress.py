"""Per-day progress of a backfill: the shared bar (chsync/progress.py), with a plain line per day when
stderr is not a terminal."""

from __future__ import annotations

from ..progress import StepProgress


class DayProgress(StepProgress):
    def __init__(self, total: int, title: str):
        super().__init__(total, title, lines=True)
