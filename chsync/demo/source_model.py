"""The Postgres tables a table spec implies, read from its own SQL: the base table (`[source] from`), each
LEFT JOIN's table with the columns of its ON, each child table of an array column, and every column
the columns and the filter name, typed from the declared types (a column only the filter uses takes the
type of what it is compared with: boolean, text, a number; text when it is only tested for NULL).

Only specs whose SQL is simple can be read this way: columns that are a plain `alias.column`, joins on
equal columns, predicates that are an AND of simple comparisons (atoms.py). Anything else is refused
with one line naming what is not simple (BadInput, exit 2)."""

from __future__ import annotations

import dataclasses
import decimal
import functools
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp

from ..errors import BadInput
from ..source.sql import base_table
from ..spec.model import TableSpec
from ..spec.types import ColumnType
from .atoms import Atom, NotSimple, Ref, column_ref, predicate_atoms

SIMPLE = ("generate only handles simple comparisons (col = literal, col <> literal, col IN :list, "
          "col IS [NOT] NULL, a boolean column; joined with AND) over plain alias.column columns")
KEY_TYPES = ("text", "bigint", "int", "uuid")
TEXT, BIGINT, BOOLEAN, DOUBLE = (ColumnType("text"), ColumnType("bigint"), ColumnType("boolean"),
                                 ColumnType("double"))


@dataclasses.dataclass
class Table:
    name: str                                 # as the spec writes it
    columns: dict[str, ColumnType]            # in creation order
    primary_key: tuple[str, ...] = ()
    nullable: set[str] = dataclasses.field(default_factory=set)
    index: str | None = None                  # a child table is indexed on its key instead


@dataclasses.dataclass(frozen=True)
class Join:
    alias: str
    parent: str
    pairs: tuple[tuple[str, str], ...]        # (column of the joined table, column of the parent)


@dataclasses.dataclass(frozen=True)
class Filter:
    reason: str
    atoms: tuple[Atom, ...]

    def holds(self, value_of: Callable[[Ref], Any]) -> bool:
        return all(a.holds(value_of(a.ref)) for a in self.atoms)


@dataclasses.dataclass
class SourceModel:
    spec: TableSpec
    base: str                                 # the base table's alias
    tables: dict[str, Table]                  # by alias: the base first, then the joins in order
    joins: list[Join]
    children: dict[str, Table]                # by the array column's name
    refs: dict[str, Ref]                      # declared column name -> its Postgres column
    filters: list[Filter]
    types: dict[Ref, ColumnType]

    @property
    def key(self) -> Ref:
        return self.refs[self.spec.key]

    @property
    def day(self) -> Ref:
        return self.refs[self.spec.day]

    @property
    def atoms(self) -> list[Atom]:
        return [a for f in self.filters for a in f.atoms]

    def atoms_on(self, ref: Ref) -> list[Atom]:
        return self._by_ref.get(ref, [])

    @functools.cached_property
    def _by_ref(self) -> dict[Ref, list[Atom]]:
        out: dict[Ref, list[Atom]] = {}
        for a in self.atoms:
            out.setdefault(a.ref, []).append(a)
        return out

    def joins_from(self, alias: str) -> list[Join]:
        return [j for j in self.joins if j.parent == alias]

    def subtree(self, alias: str) -> list[str]:
        """`alias` and every alias joined through it."""
        out = [alias]
        for j in self.joins_from(alias):
            out += self.subtree(j.alias)
        return out

    def all_tables(self) -> list[Table]:
        return [*self.tables.values(), *self.children.values()]


def read_model(spec: TableSpec) -> SourceModel:
    """The source tables of `spec`, or BadInput naming what is not simple."""
    return _Reader(spec).read()


class _Reader:
    def __init__(self, spec: TableSpec):
        self.spec = spec
        self.types: dict[Ref, ColumnType] = {}
        self.order: list[Ref] = []

    def refuse(self, what: str, why: str) -> BadInput:
        return BadInput(f"{self.spec.origin}: {what}: {why}; {SIMPLE}")

    def read(self) -> SourceModel:
        spec = self.spec
        table, base = base_table(spec.sql(spec.source_from))
        self.aliases = {base: table}
        joins = [j for text in spec.joins for j in self._joins(spec.sql(text))]
        refs = {c.name: self._column(c.name, c.sql) for c in spec.columns if c.sql is not None}
        for role in ("key", "day"):
            name = getattr(spec, role)
            if refs[name].alias != base:
                raise self.refuse(f"the {role} column {name}", f"it comes from {refs[name].alias}, not from the "
                                                               f"base table {base}")
        for c in spec.columns:
            if c.sql is not None:
                self._type(refs[c.name], c.type, f"column {c.name}")
        key_type = self.types[refs[spec.key]]
        for j in joins:
            for mine, theirs in j.pairs:
                self._join_types(Ref(j.alias, mine), Ref(j.parent, theirs))
        filters = [self._filter(p.reason, spec.sql(p.sql)) for p in spec.filters if p.sql is not None]
        decided = {**{Ref(j.alias, m): "the join column" for j in joins for m, _ in j.pairs},
                   **{Ref(j.parent, t): "the join column" for j in joins for _, t in j.pairs},
                   refs[spec.key]: "the key column", refs[spec.version]: "the version column"}
        for f in filters:
            for a in f.atoms:
                if a.ref in decided and a.op != "is not null":   # their values are the generator's to decide
                    raise self.refuse(f"filter {f.reason}", f"it tests {decided[a.ref]} {a.ref}")
                self._atom_type(a, f.reason)
        for f in filters:   # a column only ever tested for NULL: any type does, text is the plainest
            for a in f.atoms:
                if a.ref not in self.types:
                    self._type(a.ref, TEXT, f"filter {f.reason}")
        tables = {alias: self._table(alias, name, joins, refs, filters)
                  for alias, name in self.aliases.items()}
        children = {c.name: Table(c.child.table, {c.child.key: key_type, c.child.value: TEXT}, index=c.child.key)
                    for c in spec.columns if c.child is not None}
        names = [t.name for t in tables.values()] + [t.name for t in children.values()]
        if len(set(names)) != len(names):
            raise self.refuse("the source", "a table appears twice (joined twice, or as a child table too)")
        return SourceModel(spec, base, tables, joins, children, refs, filters, self.types)

    # -- pieces --------------------------------------------------------------------------------
    def _joins(self, text: str) -> list[Join]:
        try:
            tree = sqlglot.parse_one(f"SELECT 1 FROM chsync_base {text}", read="postgres")
        except sqlglot.errors.ParseError as e:
            raise self.refuse(f"join {text!r}", str(e).splitlines()[0]) from None
        out = []
        for node in tree.args.get("joins") or []:
            where = f"join {node.sql('postgres')!r}"
            if (node.args.get("side") or "").upper() != "LEFT" or node.args.get("kind") or \
                    not isinstance(node.this, exp.Table) or node.args.get("using"):
                raise self.refuse(where, "it is not a LEFT JOIN of a table ON equal columns")
            name = ".".join(p for p in (node.this.db, node.this.name) if p)
            alias = node.this.alias_or_name
            if alias in self.aliases:
                raise self.refuse(where, f"alias {alias} is used twice")
            known = {**self.aliases, alias: name}
            pairs, parents = [], set()
            try:
                for eq in _conjuncts(node.args.get("on")):
                    if not isinstance(eq, exp.EQ):
                        raise NotSimple(f"{eq.sql('postgres')!r} is not an equality of two columns")
                    a, b = column_ref(eq.this, known, None), column_ref(eq.expression, known, None)
                    if b.alias == alias:
                        a, b = b, a
                    if a.alias != alias or b.alias == alias:
                        raise NotSimple(f"{eq.sql('postgres')!r} does not join {alias} to an earlier table")
                    pairs.append((a.column, b.column))
                    parents.add(b.alias)
            except NotSimple as e:
                raise self.refuse(where, str(e)) from None
            if len(parents) != 1:
                raise self.refuse(where, "its ON must join to exactly one earlier table")
            self.aliases[alias] = name
            out.append(Join(alias, parents.pop(), tuple(pairs)))
        return out

    def _column(self, name: str, sql: str) -> Ref:
        try:
            tree = sqlglot.parse_one(self.spec.sql(sql), read="postgres")
            return column_ref(tree, self.aliases, next(iter(self.aliases)) if len(self.aliases) == 1 else None)
        except (NotSimple, sqlglot.errors.ParseError) as e:
            raise self.refuse(f"column {name}", str(e).splitlines()[0]) from None

    def _filter(self, reason: str, sql: str) -> Filter:
        try:
            tree = sqlglot.parse_one(sql, read="postgres")
            default = next(iter(self.aliases)) if len(self.aliases) == 1 else None
            return Filter(reason, tuple(predicate_atoms(tree, self.aliases, default)))
        except (NotSimple, sqlglot.errors.ParseError) as e:
            raise self.refuse(f"filter {reason}", str(e).splitlines()[0]) from None

    def _type(self, ref: Ref, typ: ColumnType, what: str) -> None:
        have = self.types.get(ref)
        if have is not None and have != typ:
            raise self.refuse(what, f"{ref} would be both {have} and {typ}")
        if have is None:
            self.types[ref] = typ
            self.order.append(ref)

    def _join_types(self, mine: Ref, theirs: Ref) -> None:
        typ = self.types.get(theirs) or self.types.get(mine) or TEXT
        if typ.kind not in KEY_TYPES:
            raise self.refuse(f"the join on {mine} = {theirs}", f"a join column must be {', '.join(KEY_TYPES)}")
        self._type(theirs, typ, f"the join on {mine} = {theirs}")
        self._type(mine, typ, f"the join on {mine} = {theirs}")

    def _atom_type(self, atom: Atom, reason: str) -> None:
        kinds = {_kind_of(v) for v in atom.literals}
        if len(kinds) > 1:
            raise self.refuse(f"filter {reason}", f"{atom.ref} is compared with values of different types")
        have = self.types.get(atom.ref)
        if have is None:
            if kinds:
                self._type(atom.ref, {"bool": BOOLEAN, "str": TEXT, "int": BIGINT, "decimal": DOUBLE}[kinds.pop()],
                           f"filter {reason}")
            return
        if have.is_array or any(not _fits(have, v) for v in atom.literals):
            raise self.refuse(f"filter {reason}", f"{atom.ref} is {have}, which generate cannot compare with "
                                                  f"{', '.join(repr(v) for v in atom.literals) or 'NULL'}")

    def _table(self, alias: str, name: str, joins: list[Join], refs: dict[str, Ref],
               filters: list[Filter]) -> Table:
        if alias == refs[self.spec.key].alias:   # the base table (the key column comes from it)
            key: tuple[str, ...] = (refs[self.spec.key].column,)
        else:
            key = next(tuple(m for m, _ in j.pairs) for j in joins if j.alias == alias)
        columns = {r.column: self.types[r] for r in self.order if r.alias == alias}
        columns = {**{k: columns[k] for k in key}, **columns}
        nullable = {a.ref.column for f in filters for a in f.atoms
                    if a.ref.alias == alias and a.op in ("is null", "is not null")}
        nullable |= {refs[c.name].column for c in self.spec.columns
                     if c.nullable and c.name in refs and refs[c.name].alias == alias}
        return Table(name, columns, key, nullable - set(key))


def _conjuncts(node: exp.Expr | None) -> list[exp.Expr]:
    if node is None:
        raise NotSimple("no ON condition")
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _kind_of(v: object) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, decimal.Decimal):
        return "decimal"
    return "str"


def _fits(t: ColumnType, v: object) -> bool:
    return t.kind in {"bool": ("boolean",), "str": ("text",), "int": ("bigint", "int", "numeric", "double"),
                      "decimal": ("numeric", "double")}[_kind_of(v)]
