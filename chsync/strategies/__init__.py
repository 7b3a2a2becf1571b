"""Backfill strategies, one object each (base.py says what a strategy owns)."""

from __future__ import annotations

from ..errors import BadInput
from .base import GlobalStep, Strategy
from .reload import Bulk, PerDay
from .repair import Repair
from .swap import Swap

STRATEGIES: dict[str, Strategy] = {s.name: s for s in (Swap(), Repair(), Bulk(), PerDay())}


def get(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise BadInput(f"unknown strategy {name!r}: use one of {', '.join(STRATEGIES)}") from None


__all__ = ["STRATEGIES", "Strategy", "GlobalStep", "get"]
