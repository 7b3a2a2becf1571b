"""Backfill strategies, one object each (base.py says what a strategy owns). Every module of this package
is imported here, and every Strategy subclass with a `name` registers itself: a new strategy is one new
module (plus its tests), nothing else to edit."""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import BadInput
from .base import REGISTERED, GlobalStep, Strategy

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

# In the order --help lists them (a strategy's `rank`), then by name.
STRATEGIES: dict[str, Strategy] = {cls.name: cls() for cls in sorted(REGISTERED, key=lambda c: (c.rank, c.name))}


def get(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise BadInput(f"unknown strategy {name!r}: use one of {', '.join(STRATEGIES)}") from None


__all__ = ["STRATEGIES", "Strategy", "GlobalStep", "get"]
