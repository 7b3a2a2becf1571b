"""Pushing a run's metrics to a real Pushgateway (Debian's prometheus-pushgateway): what Prometheus
scrapes from it afterwards is exactly what was pushed, under job="chsync" and the run's table, customer
and command; a push that cannot reach it fails fast with one error naming where it tried."""

from __future__ import annotations

import base64
import http.server
import socket
import threading
import time

import pytest
from harness.pushgateway import LocalPushgateway, find_binary, free_port
from metrics_expect import LABELS, golden, parse
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from chsync.report.metrics import MetricsPushFailed, push, registry_for

GROUPING = (*LABELS, "job", "instance")


@pytest.fixture(autouse=True)
def direct_connections(monkeypatch):
    """Loopback pushes must not go to a proxy the environment names."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    problem = find_binary()
    if problem:
        pytest.skip(problem)
    with LocalPushgateway(tmp_path_factory.mktemp("pushgateway")) as running:
        yield running


def run_registry(command: str, doc: dict, table: str, customer: str | None = "alaska-air",
                 last_in_sync: float | None = None) -> CollectorRegistry:
    return registry_for(command, doc, table=table, customer=customer, ended_at=1_771_400_000.5, duration=42.25,
                        success=True, last_in_sync=last_in_sync)


def scraped(gateway: LocalPushgateway, table: str, command: str):
    return parse(gateway.metrics_text(), outer=GROUPING, where={"table": table, "command": command})


def pushed(registry: CollectorRegistry):
    return parse(generate_latest(registry).decode())[0]


def send(gateway: LocalPushgateway, registry: CollectorRegistry, table: str, command: str,
         customer: str | None = "alaska-air") -> None:
    push(gateway.url, registry, table=table, customer=customer, command=command, timeout=10)


def test_what_is_scraped_is_what_was_pushed_under_the_grouping_labels(gateway):
    registry = run_registry("verify", golden("verify-before.json"), "round_trip")
    send(gateway, registry, "round_trip", "verify")
    values, types, labels = scraped(gateway, "round_trip", "verify")
    assert values == pushed(registry)
    assert set(types.values()) == {"gauge"}
    assert labels and all({k: s[k] for k in ("job", "table", "customer", "command")} ==
                          {"job": "chsync", "table": "round_trip", "customer": "alaska-air", "command": "verify"}
                          for s in labels)


def test_a_second_push_replaces_the_group_instead_of_adding_to_it(gateway):
    first = run_registry("verify", golden("verify-after.json"), "twice")  # in sync: has a last-in-sync time
    send(gateway, first, "twice", "verify")
    second = run_registry("verify", golden("verify-before.json"), "twice")  # drift, no last-in-sync known
    send(gateway, second, "twice", "verify")
    values, _, _ = scraped(gateway, "twice", "verify")
    assert values == pushed(second)
    assert ("chsync_last_in_sync_timestamp_seconds", ()) not in values


def test_each_command_has_its_own_group(gateway):
    sync = run_registry("sync", golden("sync.json"), "groups")
    send(gateway, sync, "groups", "sync")
    send(gateway, run_registry("verify", golden("verify-before.json"), "groups"), "groups", "verify")
    verify_after = run_registry("verify", golden("verify-after.json"), "groups")
    send(gateway, verify_after, "groups", "verify")
    assert scraped(gateway, "groups", "sync")[0] == pushed(sync)
    assert scraped(gateway, "groups", "verify")[0] == pushed(verify_after)


def test_a_table_without_customers_is_grouped_under_an_empty_customer(gateway):
    registry = run_registry("sync", golden("sync.json") | {"customer": None}, "no_customers", customer=None)
    send(gateway, registry, "no_customers", "sync", customer=None)
    values, _, labels = scraped(gateway, "no_customers", "sync")
    assert values == pushed(registry)
    assert labels and all(s.get("customer", "") == "" for s in labels)


def test_a_push_the_gateway_rejects_says_why(gateway):
    clashing = CollectorRegistry()  # a histogram where every other group has a gauge of that name
    Histogram("chsync_days_checked", "not a gauge", registry=clashing).observe(1)
    send(gateway, run_registry("sync", golden("sync.json"), "rejected"), "rejected", "sync")
    with pytest.raises(MetricsPushFailed, match=f"{gateway.url}: HTTP 400 Bad Request: pushed metrics are "
                                                "invalid or inconsistent") as rejected:
        send(gateway, clashing, "rejected_too", "sync")
    assert "\n" not in str(rejected.value) and len(str(rejected.value)) < 500, "one short line for stderr"


def test_a_push_where_nothing_listens_fails_at_once_naming_host_and_port():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(MetricsPushFailed) as failed:
        push(f"http://127.0.0.1:{port}", CollectorRegistry(), table="t", customer="c", command="sync", timeout=3)
    assert time.monotonic() - started < 3
    assert f"127.0.0.1:{port}" in str(failed.value) and "refused" in str(failed.value).lower()


def test_a_gateway_that_never_answers_fails_within_the_timeout():
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(MetricsPushFailed, match=f"127.0.0.1:{port}.*no answer within 1 s"):
            push(f"http://127.0.0.1:{port}", CollectorRegistry(), table="t", customer="c", command="sync", timeout=1)
        assert time.monotonic() - started < 3


def test_credentials_in_the_url_go_as_basic_auth_and_never_into_the_message():
    seen = {}

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            seen["path"], seen["auth"] = self.path, self.headers.get("Authorization")
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.handle_request, daemon=True).start()
    port = server.server_address[1]
    try:
        push(f"http://chsync:s%40cret@127.0.0.1:{port}", CollectorRegistry(), table="t", customer="c",
             command="sync", timeout=5)
    finally:
        server.server_close()
    assert seen["auth"] == "Basic " + base64.b64encode(b"chsync:s@cret").decode()
    assert seen["path"] == "/metrics/job/chsync/command/sync/customer/c/table/t"

    closed = free_port()
    with pytest.raises(MetricsPushFailed) as failed:
        push(f"http://chsync:s%40cret@127.0.0.1:{closed}", CollectorRegistry(), table="t", customer="c",
             command="sync", timeout=3)
    assert f"http://127.0.0.1:{closed}" in str(failed.value)
    assert "cret" not in str(failed.value) and "chsync:" not in str(failed.value)
