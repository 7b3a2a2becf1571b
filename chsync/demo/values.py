"""Values of every declared type for generated rows: a column's ordinary value, one that passes (or fails)
an atom of the filter, another value for a row whose copy in the sink is older, and the value as the
sink stores it. Ordinary values are drawn (draws.py); the awkward cases are there on purpose: unicode,
quotes, commas and backslashes in text and array elements, NULL and '' apart in nullable text, numeric
values with trailing zeros (10.50), both booleans, arrays of 0-3 elements with repeats."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

from ..spec.model import Column
from ..spec.types import ColumnType
from .atoms import Atom
from .draws import Draws

WORDS = ("plain", "café", "o'brien", "a,b", 'say "hi"', "über", "naïve", "back\\slash", "🎁 gift", "東京")
ELEMENTS = ("sku-1", "sku-2", "café crème", "o'reilly", "a,b", 'size "L"', "über-box", "🎁 wrap")
ELEMENT_COUNT_P = (0.30, 0.70, 0.90)          # cumulative P(0), P(<=1), P(<=2) elements; else 3
NULL_SHARE = {"text": 0.2, "timestamptz": 0.6}  # of a nullable column's ordinary values (else 0.25)
MS = dt.timedelta(milliseconds=1)


class NoValue(Exception):
    """No value passes every atom on a column (the filter can never hold)."""


class Values:
    def __init__(self, draws: Draws):
        self.d = draws

    # -- ordinary values -----------------------------------------------------------------------
    def ordinary(self, t: ColumnType, n: int, what: int, *, nullable: bool = False, few: str | None = None,
                 near: dt.datetime | None = None) -> Any:
        """A drawn value of type `t` for row `n`; `few`: a low-cardinality text's prefix (a handful of
        values); `near`: the row's time, which time and date columns stay close to (times after it)."""
        d = self.d
        if nullable and d.u(n, what + 1) < NULL_SHARE.get(t.kind, 0.25):
            return None
        k = t.kind
        if k == "text":
            if few:
                return f"{few}-{1 + d.below(n, what, 5)}"
            if nullable and d.u(n, what + 2) < 0.05:
                return ""
            return f"{d.pick(n, what, WORDS)} {d.below(n, what + 3, 1000)}"
        if k in ("bigint", "int"):
            return 1 + d.below(n, what, 100_000)
        if k == "numeric":
            return self.number(t, n, what)
        if k == "double":
            return d.below(n, what, 1_000_000) / 1000
        if k == "boolean":
            return d.u(n, what) < 0.5
        if k == "uuid":
            return uuid.UUID(int=(d.bits(n, what) << 64) | d.bits(n, what + 5), version=4)
        near = near or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        if k == "date":
            return near.date() + dt.timedelta(days=d.below(n, what, 61) - 30)
        if k == "timestamptz":
            return near + MS * d.below(n, what, 7 * 86_400_000)   # within a week after the row's time
        if k == "text[]":
            return self.elements(n, what)
        raise AssertionError(k)

    def number(self, t: ColumnType, n: int, what: int) -> decimal.Decimal:
        """numeric(p,s) in [0, 1000) (less when p-s is small), a fifth with a trailing zero, some whole."""
        whole = 10 ** min(3, t.precision - t.scale)
        units = self.d.below(n, what, whole * 10 ** t.scale)
        r = self.d.u(n, what + 4)
        if r < 0.05:
            units -= units % (10 ** t.scale)
        elif r < 0.25:
            units -= units % 10
        return decimal.Decimal(units).scaleb(-t.scale).quantize(decimal.Decimal(1).scaleb(-t.scale))

    def elements(self, n: int, what: int) -> list[str]:
        r = self.d.u(n, what)
        count = next((i for i, p in enumerate(ELEMENT_COUNT_P) if r < p), 3)
        return [self.d.pick(n, what + 10 + i, ELEMENTS) for i in range(count)]

    def key(self, t: ColumnType, n: int, what: int, prefix: str) -> Any:
        """The n-th unique key of a table (n from 0)."""
        if t.kind in ("bigint", "int"):
            return n + 1
        if t.kind == "uuid":
            return uuid.UUID(int=(self.d.bits(n, what) << 64) | self.d.bits(n, what + 1), version=4)
        return f"{prefix}-{n + 1:04d}"

    # -- the filter ----------------------------------------------------------------------------
    def passing(self, atoms: list[Atom], t: ColumnType, n: int, what: int, ordinary: Any) -> Any:
        """A value every atom on the column accepts: the literal of an `=`, one of an IN list, NULL for
        IS NULL, else the ordinary value (or a few more draws of it)."""
        eq = [a.value for a in atoms if a.op == "="]
        lists = [a.literals for a in atoms if a.op == "in"]
        if eq:
            candidates = [eq[0]]
        elif lists:
            start = self.d.below(n, what, len(lists[0]))
            candidates = list(lists[0][start:] + lists[0][:start])
        elif any(a.op == "is null" for a in atoms):
            candidates = [None]
        else:
            candidates = [ordinary(n + 7919 * i) for i in range(4)] + ([True, False] if t.kind == "boolean" else [])
        for c in candidates:
            if all(a.holds(c) for a in atoms):
                return c
        raise NoValue

    def failing(self, atom: Atom, t: ColumnType, ordinary_value: Any) -> Any:
        """A value `atom` rejects."""
        op, v = atom.op, atom.value
        if op == "is not null":
            return None
        if op == "is null":
            return ordinary_value if ordinary_value is not None else self.some(t)
        if op == "<>":
            return v
        if op == "not in":
            return atom.literals[0]
        excluded = atom.literals
        if t.kind == "boolean":
            return not v
        if t.kind == "text":
            return next(f"other{'' if i == 0 else f'-{i}'}" for i in range(len(excluded) + 1)
                        if f"other{'' if i == 0 else f'-{i}'}" not in excluded)
        return max(excluded) + 1

    def some(self, t: ColumnType) -> Any:
        """A fixed non-NULL value of the type."""
        return {"text": "set", "bigint": 1, "int": 1, "boolean": True, "double": 1.0, "numeric": decimal.Decimal(1),
                "uuid": uuid.UUID(int=1), "date": dt.date(2026, 1, 1),
                "timestamptz": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "text[]": []}[t.kind]

    # -- an older copy -------------------------------------------------------------------------
    def other(self, col: Column, v: Any, n: int, *, choices: tuple = (),
              keep_day: Callable[[Any], dt.date | None] | None = None) -> Any:
        """Another value of the column than `v` (the sink's older copy; NULL for every other non-NULL
        value of a nullable column); NoValue when none keeps the row where it is. `choices`: values the
        filter accepts (an IN list), tried first; `keep_day(value) -> day` for the day column, whose value
        must stay on its day."""
        t = col.type
        if col.nullable and v is not None and n % 2 == 0:
            return None
        if v is None:
            return self.some(t)
        k = t.kind
        if keep_day is not None:
            for step in (-dt.timedelta(minutes=1), dt.timedelta(minutes=1), -MS, MS):
                if k == "timestamptz" and keep_day(v + step) == keep_day(v):
                    return v + step
            raise NoValue
        if k == "text":
            others = [c for c in choices if c != v]
            return others[n % len(others)] if others else f"{v} (old)"
        if k in ("bigint", "int"):
            return v + 1
        if k == "numeric":
            one = decimal.Decimal(1)
            return v - one if v >= one else v + one
        if k == "double":
            return v + 0.25
        if k == "boolean":
            return not v
        if k == "uuid":
            return uuid.UUID(int=(v.int + 1) % (1 << 128))
        if k == "date":
            return v - dt.timedelta(days=1)
        if k == "timestamptz":
            return v - dt.timedelta(hours=1)
        if k == "text[]":
            return v[:-1] if len(v) >= 2 else [*v, ELEMENTS[n % len(ELEMENTS)]]
        raise AssertionError(k)


def stored(col: Column, v: Any, precision: int) -> Any:
    """`v` as the sink stores it (PostgresSource.read_day's expressions): a NULL in a non-nullable column
    as its type's zero, times truncated to the sink's precision, numeric at its scale, arrays in byte
    order."""
    t = col.type
    if v is None:
        if col.nullable:
            return None
        zero = {"text": "", "bigint": 0, "int": 0, "boolean": False, "double": 0.0,
                "numeric": decimal.Decimal(0), "text[]": []}
        if t.kind not in zero:
            raise AssertionError(f"column {col.name} has no zero for NULL")
        v = zero[t.kind]
    if t.kind == "uuid":
        return str(v)
    if t.kind == "timestamptz":
        v = v.astimezone(dt.UTC)
        return v.replace(microsecond=v.microsecond // 1000 * 1000 if precision == 3 else 0)
    if t.kind == "numeric":
        return decimal.Decimal(v).quantize(decimal.Decimal(1).scaleb(-t.scale))
    if t.kind == "double":
        return float(v)
    if t.kind == "text[]":
        return sorted(v, key=lambda s: s.encode())
    return v
