"""Spec parameters: `:name` in a spec's SQL becomes a correctly quoted Postgres literal, never pasted text.

The positions of `:name` come from sqlglot's Postgres tokenizer, so a `::cast`, a `':text'` string or a
quoted identifier is never mistaken for a parameter; the user's SQL around them is kept byte for byte.
"""

from __future__ import annotations

from ..errors import BadInput

ParamValue = str | int | float | bool | tuple


def literal(value: ParamValue, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, tuple):
        if not value:
            raise BadInput(f"parameter :{name} is an empty list: give it at least one value")
        return "(" + ", ".join(literal(v, name) for v in value) + ")"
    raise BadInput(f"parameter :{name} has an unsupported value {value!r}")


def used(sql: str) -> list[str]:
    """The parameter names `sql` refers to, in order."""
    return [name for _, _, name in _places(sql)]


def substitute(sql: str, params: dict[str, ParamValue], where: str) -> str:
    out, last = [], 0
    for start, end, name in _places(sql):
        if name not in params:
            known = ", ".join(sorted(params)) or "none"
            raise BadInput(f"{where}: unknown parameter :{name} (known: {known}): add it to [params]")
        out += [sql[last:start], literal(params[name], name)]
        last = end
    return "".join(out) + sql[last:]


def _places(sql: str) -> list[tuple[int, int, str]]:
    from sqlglot.dialects.postgres import Postgres
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType
    try:
        tokens = Postgres().tokenize(sql)
    except TokenError as e:
        raise BadInput(f"cannot read the SQL {sql!r}: {e}") from None
    found = []
    for colon, name in zip(tokens, tokens[1:]):
        if colon.token_type == TokenType.COLON and name.start == colon.end + 1 and name.text.isidentifier():
            found.append((colon.start, name.end + 1, name.text))
    return found


def parse_cli(pairs: tuple[str, ...], defaults: dict[str, ParamValue]) -> dict[str, ParamValue]:
    """`--param NAME=VALUE` (repeatable): a list where the spec's default is a list (split on commas),
    a bool or number where it is one, else text."""
    out: dict[str, ParamValue] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise BadInput(f"--param {pair!r} is not NAME=VALUE")
        default = defaults.get(name)
        value: ParamValue
        if isinstance(default, tuple):
            value = tuple(v.strip() for v in text.split(",") if v.strip())
        elif isinstance(default, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise BadInput(f"--param {name}={text!r} must be true or false")
            value = text.lower() in ("true", "1")
        elif isinstance(default, int):
            try:
                value = int(text)
            except ValueError:
                raise BadInput(f"--param {name}={text!r} must be a whole number") from None
        else:
            value = text
        out[name] = value
    return out
