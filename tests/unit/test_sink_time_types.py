"""Which existing sink time columns chsync adopts, at which precision, and which zones are the same. No
database."""

from __future__ import annotations

import pytest

from chsync.sink.base import same_zone
from chsync.sink.canonical import accepts, time_type
from chsync.sink.chdb import time_precision
from chsync.spec import load_specs

SPEC = load_specs(None)[0]
ENDED = SPEC.column("ended_at")


@pytest.mark.parametrize("found, kind", [
    ("DateTime", (0, None)), ("DateTime('UTC')", (0, "UTC")), ("DateTime64(3)", (3, None)),
    ("DateTime64(6, 'America/New_York')", (6, "America/New_York")), ("Nullable(DateTime64(3, 'UTC'))", (3, "UTC")),
    ("Date", None), ("String", None), ("DateTime64", None)])
def test_time_type_reads_digits_and_zone(found, kind):
    assert time_type(found) == kind


@pytest.mark.parametrize("found, ok", [
    ("DateTime", True), ("DateTime('Asia/Kolkata')", True), ("DateTime64(0)", True), ("DateTime64(3, 'UTC')", True),
    ("DateTime64(6)", True), ("DateTime64(2)", False), ("DateTime64(9, 'UTC')", False), ("Int64", False),
    ("Nullable(DateTime)", True)])   # ended_at is not nullable, but a Nullable column holds it (a NULL: drift)
def test_accepted_time_columns(found, ok):
    assert accepts(ENDED, found) is ok


def test_the_tables_precision_is_its_time_columns():
    types = {"started_at": "DateTime64(6)", "ended_at": "DateTime64(6, 'UTC')", "updated_at": "DateTime64(6)"}
    assert time_precision(SPEC, types, 3) == 6
    assert time_precision(SPEC, {"ended_at": "DateTime"}, 3) == 0
    assert time_precision(SPEC, {}, 3) == 3


def test_zones_are_the_same_when_every_offset_is():
    assert same_zone("Etc/UTC", "UTC") and same_zone("UTC", "UTC")
    assert not same_zone("America/New_York", "UTC") and not same_zone("Asia/Kolkata", "Asia/Kathmandu")
    assert not same_zone(None, "UTC") and not same_zone("Not/AZone", "UTC")
