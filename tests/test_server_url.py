"""Parsing of clickhouse:// sink URLs (pure logic)."""

from __future__ import annotations

import pytest
from conftest import seed_spec

from chsync.errors import BadInput
from chsync.sink import open_server
from chsync.sink.url import parse_url


def test_seed_cluster_url():
    url = parse_url("clickhouse://chsync:p%40ss@ch.example:9440/alaska_air_us_east_1?cluster=conv&secure=1"
                    "&distributed=conversation_with_labels_d")
    assert (url.host, url.port, url.user, url.password, url.database, url.cluster, url.secure) == (
        "ch.example", 9440, "chsync", "p@ss", "alaska_air_us_east_1", "conv", True)


def test_defaults_and_spec_overrides():
    assert parse_url("clickhouse://h").port == 9000 and parse_url("clickhouse://h?secure=1").port == 9440
    assert parse_url("clickhouses://h").port == 9440 and parse_url("clickhouses://h").secure
    sink = open_server("clickhouse://u:secret@h:9000/other_db?distributed=d_table", seed_spec())
    assert sink.spec.sink_database == "other_db" and sink.spec.sink.distributed_table == "d_table"
    assert "secret" not in sink.display_url and "u:***@h" in sink.display_url
    assert parse_url("clickhouse://h").http_port is None and parse_url("clickhouse://h").default_http_port == 8123
    assert parse_url("clickhouse://h?secure=1").default_http_port == 8443
    assert parse_url("clickhouse://h?http_port=18123").http_port == 18123
    assert (parse_url("clickhouse://h").connect_timeout, parse_url("clickhouse://h").timeout) == (10, 300)
    assert parse_url("clickhouse://h?timeout=5&connect_timeout=2").timeout == 5


def test_http_export_keeps_credentials_out_of_the_address():
    sink = open_server("clickhouse://u:s3cret@h:9000/db?http_port=18123", seed_spec())
    address, auth = sink.http_export("SELECT 1 FORMAT Native", 18123)
    assert address == "http://h:18123/?query=SELECT+1+FORMAT+Native"
    assert "s3cret" not in address and auth == "Basic dTpzM2NyZXQ="  # base64("u:s3cret")


@pytest.mark.parametrize("url, message", [
    ("clickhouse://h?secure=maybe", "secure='maybe' must be 1 or 0"),
    ("clickhouse://h/db?cluster=a;b", "is not a plain identifier"),
    ("clickhouse://h/db?connect_timeout=x", "connect_timeout must be a number"),
    ("clickhouse://h/db?timeout=0", "timeout must be a number of seconds"),
    ("clickhouse:///db", "has no host"),
    ("clickhouse://h/db?http_port=80a", "http_port='80a' must be a port number"),
    ("clickhouse://h/db?http_port=0", "http_port='0' must be a port number"),
    ("clickhouse://h/db?ca_certs=/nonexistent.pem", "ca_certs needs a TLS connection"),
    ("clickhouse://h/db?secure=1&ca_certs=/nonexistent.pem", "is not a file"),
])
def test_bad_urls(url, message):
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_url(url)
