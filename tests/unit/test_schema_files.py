"""The JSON documents' schema files (chsync/schemas/) are valid Draft 2020-12 schemas, name their command as
the documents do, use no key named after the seed's table, and every golden JSON document follows the schema
it names. No database: the golden files are the documents."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from chsync import schemas

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
from schema_check import problems  # noqa: E402

GOLDEN = TESTS / "golden" / "files"
NOT_DOCUMENTS = {"journal.json"}    # the journal's rows as stored, not a command's output
# The seed's own words: its table, its columns, its [report] noun. Rendered text may use them, keys never.
SEED_WORDS = re.compile(r"conversation|usecase|profile|agent|label", re.I)
# What the golden scenario masks (tests/golden/scenario.py), given back as a value of the type it had.
UNMASKED = {"seconds": 0.5, "eta_seconds": 0.5, "oldest_proof_age_seconds": 0.5, "pid": 1,
            "start": "2026-01-01T00:00:00+00:00", "end": "2026-01-01T00:00:01+00:00",
            "started": "2026-01-01T00:00:00+00:00", "at": "2026-01-01T00:00:00+00:00",
            "since": "2026-01-01T00:00:00+00:00"}


def test_every_schema_file_is_a_valid_draft_2020_12_schema_of_its_command():
    assert {"scope", "diff", "plan", "backfill", "sync", "verify", "history", "runs", "spec-check", "spec-show",
            "spec-new", "migrate", "init", "generate", "demo", "embedded-up", "embedded-down", "embedded-status",
            "targets", "tables"} <= set(schemas.commands())
    for command in schemas.commands():
        schema = schemas.load(command)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"urn:chsync:schema:{command}:2"
        assert schema["properties"]["schema"] == {"const": schemas.schema_id(command)}
        assert schemas.schema_id(command) == f"chsync.{command}/2"
        assert schemas.command_of(f"chsync.{command}/2") == command
        assert "schema" in schema["required"] and schema["additionalProperties"] is False, command


def _keys(schema: object) -> set[str]:
    if isinstance(schema, dict):
        return set(schema.get("properties", {})) | {k for v in schema.values() for k in _keys(v)}
    if isinstance(schema, list):
        return {k for v in schema for k in _keys(v)}
    return set()


def test_no_schema_names_a_key_after_the_seeds_table():
    named = {f"{command}: {key}" for command in schemas.commands() for key in _keys(schemas.load(command))
             if SEED_WORDS.search(key)}
    assert not named


def _unmask(doc):
    if isinstance(doc, dict):
        # "run": a run id, except in the demo's act 2, where it counts the nights
        given = UNMASKED | {"run": 1 if "arrived" in doc else "20260101T000000Z-abcd"}
        return {k: given.get(k, v) if v == "<MASKED>" else _unmask(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_unmask(v) for v in doc]
    return doc


def _golden_documents() -> list[Path]:
    return sorted(p for p in GOLDEN.rglob("*.json") if p.name not in NOT_DOCUMENTS)


@pytest.mark.parametrize("path", _golden_documents(), ids=lambda p: str(p.relative_to(GOLDEN)))
def test_every_golden_document_follows_the_schema_it_names(path):
    doc = json.loads(path.read_text())
    assert doc["schema"].startswith("chsync.") and doc["schema"].endswith("/2")
    assert not (found := problems(_unmask(doc))), "\n".join(found[:20])


def _seed_keys(doc) -> set[str]:
    if isinstance(doc, dict):
        # the maps keyed by the spec's own reasons and columns hold data, not keys of the shape
        return {k for k, v in doc.items() if SEED_WORDS.search(k)} | {
            k for key, v in doc.items() if key not in ("stale_reasons", "changed_columns")
            for k in _seed_keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _seed_keys(v)}
    return set()


@pytest.mark.parametrize("path", _golden_documents(), ids=lambda p: str(p.relative_to(GOLDEN)))
def test_no_golden_document_has_a_key_named_after_the_seed(path):
    assert not _seed_keys(json.loads(path.read_text()))


def test_a_document_that_breaks_its_schema_is_caught():
    doc = _unmask(json.loads((GOLDEN / "verify-after.json").read_text()))
    assert problems(doc) == []
    renamed = json.loads(json.dumps(doc))
    renamed["sink"]["duplicate_conversations"] = renamed["sink"].pop("duplicate_keys")
    assert problems(renamed)
    assert problems(doc | {"schema": "chsync.verify/1"})
    assert problems(doc | {"schema": "chsync.scope/2"}) == []   # verify's shape is scope's
    assert problems([doc]) and problems({k: v for k, v in doc.items() if k != "days"})
