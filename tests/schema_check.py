"""Validation of chsync's JSON documents against the schema files the package ships (chsync/schemas/): the
schema a document names in its `schema` field, with the other files resolvable by their $id, as a consumer
would resolve them."""

from __future__ import annotations

import functools

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from chsync import schemas


@functools.cache
def registry() -> Registry:
    docs = [schemas.load(command) for command in schemas.commands()]
    return Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in docs)


def validator(command: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.load(command), registry=registry())


def problems(doc: object) -> list[str]:
    """Why `doc` does not follow the schema it names ([] when it does)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("schema"), str):
        return ["not a JSON object with a schema field"]
    try:
        command = schemas.command_of(doc["schema"])
    except ValueError as e:
        return [str(e)]
    if command not in schemas.commands():
        return [f"no schema file for {doc['schema']}"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message}"
            for e in sorted(validator(command).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def assert_valid(doc: object, what: str = "document") -> None:
    found = problems(doc)
    assert not found, f"{what} does not follow its schema:\n" + "\n".join(found[:20])
