"""A timeline of named steps (the seed's "Timeline" table): start, end, duration, rows."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterator


@dataclasses.dataclass
class Step:
    step: str
    start: dt.datetime
    end: dt.datetime | None = None
    seconds: float = 0.0
    rows: int | None = None

    def as_dict(self) -> dict:
        return {"step": self.step, "start": self.start.isoformat(timespec="seconds"),
                "end": self.end.isoformat(timespec="seconds") if self.end else None,
                "seconds": round(self.seconds, 3), "rows": self.rows}


class Timeline:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[Step]:
        s = Step(name, dt.datetime.now(dt.UTC))
        t0 = time.monotonic()
        self.steps.append(s)
        try:
            yield s
        finally:
            s.seconds = time.monotonic() - t0
            s.end = dt.datetime.now(dt.UTC)

    def as_list(self) -> list[dict]:
        return [s.as_dict() for s in self.steps]
