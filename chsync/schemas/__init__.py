"""The JSON documents' contract: every document a command prints with --json names its schema in its
`schema` field ("chsync.<command>/2"), and the JSON Schema (Draft 2020-12) it follows ships here as
`<command>.schema.json`. Version 2 uses neutral keys (rows, duplicate_keys, breakdown, units_*): the
table's own words (the spec's [report] noun) appear only in rendered text, never as a key.

A change to a document's shape changes its schema file in the same commit; renaming or removing a key
is a new version."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

VERSION = 2
PREFIX = "chsync."


def schema_id(command: str) -> str:
    """The value of a `command` document's `schema` field."""
    return f"{PREFIX}{command}/{VERSION}"


def tagged(command: str, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with its `schema` field, first (so that a reader of the printed JSON sees it first)."""
    return {"schema": schema_id(command), **{k: v for k, v in doc.items() if k != "schema"}}


def command_of(schema: str) -> str:
    """"chsync.scope/2" -> "scope"; a ValueError for anything that is not a version-2 chsync schema name."""
    name, _, version = schema.rpartition("/")
    if not name.startswith(PREFIX) or version != str(VERSION):
        raise ValueError(f"{schema!r} is not a chsync document schema of version {VERSION}")
    return name.removeprefix(PREFIX)


def file_name(command: str) -> str:
    return f"{command}.schema.json"


def load(command: str) -> dict[str, Any]:
    """The JSON Schema of a command's document."""
    return json.loads(resources.files(__package__).joinpath(file_name(command)).read_text(encoding="utf-8"))


def commands() -> list[str]:
    """Every command whose document has a schema file here."""
    return sorted(p.name.removesuffix(".schema.json") for p in resources.files(__package__).iterdir()
                  if p.name.endswith(".schema.json"))
