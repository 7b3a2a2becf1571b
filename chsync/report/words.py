"""The words a report uses for its table: the noun of its rows ("conversation"), the heading of its
breakdown ("Usecase"), its day column. They come from the document (the spec's [report] section); a
document without them is the seed's."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Words:
    one: str = "conversation"
    many: str = "conversations"
    breakdown: str = "Usecase"
    day: str = "ended_at"
    timezone: str = "UTC"

    @property
    def Many(self) -> str:  # capitalised, as a heading uses it
        return self.many[:1].upper() + self.many[1:]

    @property
    def breakdown_lower(self) -> str:
        return self.breakdown[:1].lower() + self.breakdown[1:]

    @property
    def day_axis(self) -> str:
        return f"day ({self.day}, {self.timezone})"


def words(doc: dict) -> Words:
    noun = doc.get("noun") or ["conversation", "conversations"]
    title = (doc.get("breakdown") or {}).get("title") or ("Usecase" if "breakdown" not in doc else "Value")
    day = doc.get("day") or {}
    return Words(noun[0], noun[1], title, day.get("column", "ended_at"), day.get("timezone", "UTC"))
