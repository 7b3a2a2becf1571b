"""The simple comparisons a generator can make rows for: a spec predicate read (with sqlglot) as an AND of
atoms, each one column against literals. Anything else is not simple (NotSimple says what)."""

from __future__ import annotations

import dataclasses
import decimal
from typing import Any

from sqlglot import exp

OPS = ("=", "<>", "in", "not in", "is null", "is not null")


class NotSimple(Exception):
    """What of an expression is beyond a simple comparison (the caller names the predicate or column)."""


@dataclasses.dataclass(frozen=True)
class Ref:
    """A column of a declared table, by its alias in the spec's SQL."""
    alias: str
    column: str

    def __str__(self) -> str:
        return f"{self.alias}.{self.column}"


@dataclasses.dataclass(frozen=True)
class Atom:
    ref: Ref
    op: str
    value: object = None      # a literal, or a tuple of them for IN / NOT IN

    def holds(self, v: Any) -> bool:
        """SQL's answer, with unknown (a comparison with NULL) as false, as a WHERE clause takes it."""
        if self.op == "is null":
            return v is None
        if self.op == "is not null":
            return v is not None
        if v is None:
            return False
        if self.op == "=":
            return v == self.value
        if self.op == "<>":
            return v != self.value
        if self.op == "in":
            return v in self.literals
        return v not in self.literals

    @property
    def literals(self) -> tuple:
        if self.value is None:
            return ()
        return self.value if isinstance(self.value, tuple) else (self.value,)


def column_ref(node: exp.Expr, aliases: dict[str, str], default: str | None) -> Ref:
    """`alias.column` (or a bare column when the spec has one table) as a Ref."""
    if not isinstance(node, exp.Column) or node.args.get("db") or node.args.get("catalog"):
        raise NotSimple(f"{node.sql('postgres')!r} is not a plain alias.column")
    alias = _name(node.args["table"]) if node.args.get("table") else default
    if alias is None or alias not in aliases:
        raise NotSimple(f"{node.sql('postgres')!r} names no declared table alias "
                        f"({', '.join(sorted(aliases))})")
    return Ref(alias, _name(node.args["this"]))


def _name(ident: exp.Expr) -> str:
    """An identifier as Postgres resolves it: unquoted ones fold to lower case."""
    if isinstance(ident, exp.Identifier):
        return ident.this if ident.quoted else ident.this.lower()
    return ident.name.lower()


def predicate_atoms(tree: exp.Expr, aliases: dict[str, str], default: str | None) -> list[Atom]:
    """The atoms of `a AND b AND ...`."""
    if isinstance(tree, exp.Paren):
        return predicate_atoms(tree.this, aliases, default)
    if isinstance(tree, exp.And):
        return predicate_atoms(tree.this, aliases, default) + predicate_atoms(tree.expression, aliases, default)
    return [_atom(tree, aliases, default)]


def _atom(node: exp.Expr, aliases: dict[str, str], default: str | None) -> Atom:
    ref = lambda n: column_ref(n, aliases, default)
    if isinstance(node, exp.Column):
        return Atom(ref(node), "=", True)
    if isinstance(node, exp.Not):
        inner = node.this.this if isinstance(node.this, exp.Paren) else node.this
        if isinstance(inner, exp.Column):
            return Atom(ref(inner), "=", False)
        if isinstance(inner, exp.In):
            return Atom(ref(inner.this), "not in", _list(inner))
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null) and not inner.args.get("negate"):
            return Atom(ref(inner.this), "is not null")
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        return Atom(ref(node.this), "is not null" if node.args.get("negate") else "is null")
    if isinstance(node, exp.In) and not node.args.get("query") and not node.args.get("unnest"):
        return Atom(ref(node.this), "in", _list(node))
    if isinstance(node, (exp.EQ, exp.NEQ)):
        op = "=" if isinstance(node, exp.EQ) else "<>"
        left, right = node.this, node.expression
        if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
            left, right = right, left
        return Atom(ref(left), op, literal(right))
    raise NotSimple(f"{node.sql('postgres')!r} is not a simple comparison")


def _list(node: exp.In) -> tuple:
    values = tuple(literal(e) for e in node.expressions)
    if not values:
        raise NotSimple(f"{node.sql('postgres')!r} has an empty list")
    return values


def literal(node: exp.Expr) -> Any:
    """A string, number or boolean literal as a Python value."""
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -literal(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = str(node.this)
        try:
            return int(text)
        except ValueError:
            try:
                return decimal.Decimal(text)
            except decimal.InvalidOperation:
                pass
    raise NotSimple(f"{node.sql('postgres')!r} is not a literal (a string, number or boolean)")
