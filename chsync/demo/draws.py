"""Deterministic draws for generated data: every value is a pure function of (seed, row number, salt),
so the same seed gives the same data whatever order the rows are made in.

splitmix64's finaliser mixes the three into 64 well-spread bits; a salt names what is drawn (a column,
a count), made from its name with crc32 so it is stable across processes (Python's hash() is not)."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

MASK = (1 << 64) - 1


def mix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


@functools.lru_cache(maxsize=4096)
def salt(*names: object) -> int:
    return zlib.crc32("\x1f".join(str(n) for n in names).encode())


class Draws:
    def __init__(self, seed: int):
        self.seed = seed

    def bits(self, n: int, what: int) -> int:
        return mix(mix((self.seed * 0x100000001B3 + what) & MASK) ^ (n & MASK))

    def u(self, n: int, what: int) -> float:
        """Uniform in [0, 1)."""
        return (self.bits(n, what) >> 11) / float(1 << 53)

    def below(self, n: int, what: int, k: int) -> int:
        """Uniform in [0, k)."""
        return int(self.u(n, what) * k)

    def pick(self, n: int, what: int, choices: Sequence[T]) -> T:
        return choices[self.below(n, what, len(choices))]
