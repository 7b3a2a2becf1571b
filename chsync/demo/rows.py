"""The rows of a generated table, each made twice: as Postgres has it now, and as the old job copied it
(`before`). Every value is a pure function of (seed, row number, column), so both versions agree except
where the row's drift kind says they differ.

A joined table is a pool: a few rows that pass every predicate on it, and for each atom of the filter on
it (or on a table joined through it) one row that fails just that atom; a base row points at a passing
pool row, or at the failing one when it is stale (or noise) for that atom. Its `before` version is the
same row as it was when it passed (the shop was not a test shop yet)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from ..spec.model import Column
from .atoms import Atom, Ref
from .draws import Draws, salt
from .drift import FIRST
from .source_model import Join, SourceModel
from .values import NoValue, Values

GOOD_POOL_ROWS = 8
DAY_MS = 86_400_000


@dataclasses.dataclass
class Version:
    """One version of a base row: its own columns, and the view over it and its joined rows."""
    row: dict[str, object]
    view: dict[Ref, object]


@dataclasses.dataclass
class Pool:
    now: list[dict[str, object]]
    before: list[dict[str, object]]
    good: list[int]
    bad: dict[Atom, int]
    index: dict[tuple, int]          # join key values -> row


class Rows:
    def __init__(self, model: SourceModel, seed: int):
        self.m, self.spec = model, model.spec
        self.d = Draws(seed)
        self.v = Values(self.d)
        self.tz = ZoneInfo(self.spec.day_timezone)
        self.nullable = {model.refs[c.name] for c in self.spec.columns if c.nullable and c.name in model.refs}
        self.few = {model.refs[c.name]: c.name for c in self.spec.columns if c.low_cardinality and c.name in model.refs}
        self.version = model.refs[self.spec.version]
        self.pools: dict[str, Pool] = {}
        for join in reversed(model.joins):   # a pool points into the pools of the tables joined through it
            self.pools[join.alias] = self._pool(join)

    # -- values --------------------------------------------------------------------------------
    def local_day(self, value: Any) -> dt.date | None:
        """The day of a day-column value in the spec's time zone (None for NULL)."""
        if value is None or not isinstance(value, dt.datetime):
            return value
        return value.astimezone(self.tz).date()

    def value(self, ref: Ref, n: int, failing: Atom | None, near: dt.datetime) -> Any:
        t = self.m.types[ref]
        what = salt(ref)

        def ordinary(k: int) -> Any:
            return self.v.ordinary(t, k, what, nullable=ref in self.nullable, few=self.few.get(ref), near=near)
        if failing is not None and failing.ref == ref:
            return self.v.failing(failing, t, ordinary(n))
        atoms = self.m.atoms_on(ref)
        return self.v.passing(atoms, t, n, what, ordinary) if atoms else ordinary(n)

    def day_time(self, n: int, day: dt.date) -> dt.date | dt.datetime:
        """The row's day value: a moment of `day` in the spec's time zone (some exactly at its first or
        last millisecond), or the day itself for a date column."""
        if self.m.types[self.m.day].kind == "date":
            return day
        r = self.d.u(n, salt("day time"))
        ms = 0 if r < 0.02 else DAY_MS - 1 if r < 0.04 else self.d.below(n, salt("day ms"), DAY_MS)
        local = dt.datetime.combine(day, dt.time(), tzinfo=self.tz) + dt.timedelta(milliseconds=ms)
        return local.astimezone(dt.UTC)

    def version_value(self, n: int, time: dt.date | dt.datetime) -> Any:
        t = self.m.types[self.version]
        if t.kind == "timestamptz" and isinstance(time, dt.datetime):
            return time + dt.timedelta(milliseconds=1000 + self.d.below(n, salt("version"), 7_199_000))
        if t.kind == "date":
            return self.local_day(time)
        return self.v.ordinary(t, n, salt(self.version))

    # -- pools ---------------------------------------------------------------------------------
    def _pool(self, join: Join) -> Pool:
        table = self.m.tables[join.alias]
        inside = set(self.m.subtree(join.alias))
        roles: list[Atom | None] = [None] * GOOD_POOL_ROWS + [a for a in self.m.atoms if a.ref.alias in inside]
        pool = Pool([], [], list(range(GOOD_POOL_ROWS)), {}, {})
        near = dt.datetime.combine(FIRST, dt.time(), tzinfo=dt.UTC)
        for j, role in enumerate(roles):
            versions = []
            for failing in (role, None):
                row = {}
                for mine, _ in join.pairs:
                    prefix = table.name.split(".")[-1] if len(join.pairs) == 1 else mine
                    row[mine] = self.v.key(self.m.types[Ref(join.alias, mine)], j, salt(join.alias, mine), prefix)
                row.update(self._links(join.alias, j, role))
                for column in table.columns:
                    if column not in row:
                        row[column] = self.value(Ref(join.alias, column), j, failing, near)
                versions.append(row)
            pool.index[tuple(versions[0][mine] for mine, _ in join.pairs)] = j
            pool.now.append(versions[0])
            pool.before.append(versions[1])
            if role is not None:
                pool.bad[role] = j
        return pool

    def _links(self, alias: str, n: int, role: Atom | None) -> dict[str, object]:
        """The join columns of `alias`'s row pointing into each table joined from it: to the pool row
        failing `role` when that atom is on that side, else to a passing one."""
        out = {}
        for join in self.m.joins_from(alias):
            pool = self.pools[join.alias]
            if role is not None and role in pool.bad:
                j = pool.bad[role]
            else:
                j = pool.good[self.d.below(n, salt("link", join.alias), len(pool.good))]
            for mine, theirs in join.pairs:
                out[theirs] = pool.now[j][mine]
        return out

    def _view(self, alias: str, row: dict, now: bool, view: dict[Ref, object]) -> None:
        for column, value in row.items():
            view[Ref(alias, column)] = value
        for join in self.m.joins_from(alias):
            pool = self.pools[join.alias]
            j = pool.index[tuple(row[theirs] for _, theirs in join.pairs)]
            self._view(join.alias, (pool.now if now else pool.before)[j], now, view)

    def pool_choices(self, ref: Ref) -> tuple:
        """Values of a join column that lead to passing rows (another shop for a changed shop_id)."""
        for join in self.m.joins_from(ref.alias):
            for mine, theirs in join.pairs:
                if theirs == ref.column and len(join.pairs) == 1:
                    pool = self.pools[join.alias]
                    return tuple(pool.now[j][mine] for j in pool.good)
        return ()

    # -- base rows -----------------------------------------------------------------------------
    def base(self, n: int, day: dt.date, failing: Atom | None = None, *, now: bool = True) -> Version:
        """Base row `n` on `day`, failing `failing` (on the base table or, through its link, on a joined
        one); `now=False` gives the same row's joined rows as they were before."""
        alias = self.m.base
        table = self.m.tables[alias]
        time = self.day_time(n, day)
        near = time if isinstance(time, dt.datetime) else dt.datetime.combine(day, dt.time(), tzinfo=self.tz)
        row = {self.m.key.column: self.v.key(self.m.types[self.m.key], n, salt("key"),
                                             table.name.split(".")[-1])}
        row.update(self._links(alias, n, failing))
        fail = failing if now else None
        for column in table.columns:
            if column in row:
                continue
            ref = Ref(alias, column)
            if column == self.m.day.column:
                row[column] = self.v.failing(fail, self.m.types[ref], time) if fail and fail.ref == ref else time
            elif column == self.version.column and alias == self.version.alias:
                row[column] = self.version_value(n, time)
            else:
                row[column] = self.value(ref, n, fail, near)
        view: dict[Ref, object] = {}
        self._view(alias, row, now, view)
        return Version(row, view)

    def elements(self, n: int, column: str) -> list[str]:
        return self.v.elements(n, salt("child", column))

    def declared(self, version: Version, n: int) -> dict[str, object]:
        """The spec's columns of a row (arrays from the child tables), unconverted."""
        return {c.name: version.view[self.m.refs[c.name]] if c.sql is not None else self.elements(n, c.name)
                for c in self.spec.columns}

    def first_failing(self, view: dict[Ref, object]) -> str | None:
        for f in self.m.filters:
            if not f.holds(view.__getitem__):
                return f.reason
        return None

    def newer(self, version: Version) -> None:
        """Postgres's row was updated after the copy: its version moves on."""
        if self.version.alias != self.m.base:
            return
        value = version.row[self.version.column]
        version.row[self.version.column] = version.view[self.version] = value + _step(value)

    def older(self, values: dict[str, object]) -> dict[str, object]:
        """A copy of the declared values with an older version (a duplicate's first row)."""
        value = values[self.spec.version]
        return {**values, self.spec.version: value - _step(value)}

    def other(self, col: Column, value: Any, n: int) -> Any:
        ref = self.m.refs.get(col.name)
        choices = ()
        if ref is not None:
            choices = tuple(v for a in self.m.atoms_on(ref) if a.op == "in" for v in a.literals) or \
                self.pool_choices(ref)
        keep = self.local_day if ref == self.m.day else None
        return self.v.other(col, value, n, choices=choices, keep_day=keep)

    def changeable(self) -> list[str]:
        """The compared columns a row can change in without leaving its day (all but a date day)."""
        return [c.name for c in self.spec.compared
                if not (c.name == self.spec.day and self.m.types[self.m.day].kind == "date")]

    def stale_atoms(self) -> dict[str, list[Atom]]:
        """Per predicate, the atoms whose failure alone makes it the first one a row fails (a predicate
        that cannot be failed first has none); NoValue when no row can pass the filter at all."""
        day = FIRST
        if self.first_failing(self.base(0, day).view) is not None:
            raise NoValue
        out = {}
        for f in self.m.filters:
            out[f.reason] = [a for a in f.atoms if self.first_failing(self.base(0, day, a).view) == f.reason]
        return out



def _step(version: object) -> Any:
    """One step of a version: 1, a day (a date), an hour (a time)."""
    if isinstance(version, int):
        return 1
    return dt.timedelta(hours=1) if isinstance(version, dt.datetime) else dt.timedelta(days=1)
