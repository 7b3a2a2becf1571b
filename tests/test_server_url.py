"""Parsing of clickhouse:// sink URLs (pure logic)."""

from __future__ import annotations

import pytest

from chsync.errors import BadInput
from chsync.sink.server import ServerSink, parse_url
from chsync.spec import Spec


def test_seed_cluster_url():
    url = parse_url("clickhouse://chsync:p%40ss@ch.example:9440/alaska_air_us_east_1?cluster=conv&secure=1"
                    "&distributed=conversation_with_labels_d")
    assert (url.host, url.port, url.user, url.password, url.database, url.cluster, url.secure) == (
        "ch.example", 9440, "chsync", "p@ss", "alaska_air_us_east_1", "conv", True)


def test_defaults_and_spec_overrides():
    assert parse_url("clickhouse://h").port == 9000 and parse_url("clickhouse://h?secure=1").port == 9440
    sink = ServerSink.from_url("clickhouse://u:secret@h:9000/other_db?distributed=d_table", Spec())
    assert sink.spec.sink_database == "other_db" and sink.spec.distributed_table == "d_table"
    assert "secret" not in sink.display_url and "u:***@h" in sink.display_url
    assert parse_url("clickhouse://h").http_port == 8123 and parse_url("clickhouse://h?secure=1").http_port == 8443
    assert parse_url("clickhouse://h?http_port=18123").http_port == 18123


def test_http_export_keeps_credentials_out_of_the_address():
    sink = ServerSink.from_url("clickhouse://u:s3cret@h:9000/db?http_port=18123", Spec())
    address, auth = sink.http_export("SELECT 1 FORMAT Native")
    assert address == "http://h:18123/?query=SELECT+1+FORMAT+Native"
    assert "s3cret" not in address and auth == "Basic dTpzM2NyZXQ="  # base64("u:s3cret")


@pytest.mark.parametrize("url, message", [
    ("clickhouse://h?secure=maybe", "secure='maybe' must be 1 or 0"),
    ("clickhouse://h/db?cluster=a;b", "is not a plain identifier"),
    ("clickhouse://h/db?connect_timeout=x", "connect_timeout must be a number"),
    ("clickhouse:///db", "has no host"),
    ("clickhouse://h/db?http_port=80a", "http_port='80a' must be a port number"),
    ("clickhouse://h/db?http_port=0", "http_port='0' must be a port number"),
])
def test_bad_urls(url, message):
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_url(url)
