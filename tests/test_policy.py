"""How rows travel and which strategy repairs a range: policy.py alone, no database."""

from __future__ import annotations

import dataclasses

import pytest

from chsync import policy
from chsync.errors import BadInput, RuntimeFailure
from chsync.sink.capabilities import Capabilities
from chsync.strategies import STRATEGIES

SERVER_1816 = Capabilities(backend="cluster", version="18.16.1", time_precision=0,
                           partition_key="toYYYYMMDD(ended_at)", partition_grain="day", cluster="replicated", shards=3,
                           http_copy=True)
NEW_SERVER = dataclasses.replace(SERVER_1816, version="24.8.1", postgresql_function=True)
EMBEDDED = dataclasses.replace(NEW_SERVER, backend="chdb", in_process=True, http_copy=False)
GRAINS = {name: s.grains for name, s in STRATEGIES.items() if s.grains}


def write(requested, caps, strategy="swap", reason=None):
    return policy.write_mode(requested, caps, strategy, strategy_pulls=STRATEGIES[strategy].pulls,
                             not_pullable=reason)


def test_write_mode_reads_the_capabilities():
    assert write("auto", SERVER_1816).name == "push"
    assert "no postgresql() table function" in write("auto", SERVER_1816).why
    with pytest.raises(BadInput, match=r"needs the postgresql\(\) table function.*use --mode push"):
        write("pull", SERVER_1816)
    assert write("auto", NEW_SERVER).name == "push"  # it may not reach Postgres where chsync does
    assert write("pull", NEW_SERVER).name == "pull"
    assert write("auto", EMBEDDED).name == "pull" and write("auto", EMBEDDED, "repair").name == "push"
    with pytest.raises(BadInput, match="works with the swap strategy"):
        write("pull", EMBEDDED, "bulk")
    assert write("push", EMBEDDED).why == "requested"


def test_a_spec_that_cannot_be_pulled_is_pushed_and_says_why():
    reason = "filter x: '/' divides integers in Postgres but not in ClickHouse"
    pushed = write("auto", EMBEDDED, reason=reason)
    assert pushed.name == "push" and reason in pushed.why
    with pytest.raises(BadInput, match="cannot be carried into ClickHouse"):
        write("pull", EMBEDDED, reason=reason)
    assert policy.diff_mode("auto", EMBEDDED, not_pullable=reason).name == "push"


def test_a_server_diff_compares_in_process_whatever_the_version():
    # The server only serves its rows over HTTP; chDB here reads Postgres and compares (pull/mirror.py).
    auto = policy.diff_mode("auto", SERVER_1816)
    assert auto.name == "pull" and "copied over HTTP into an in-process chDB" in auto.why
    assert policy.diff_mode("push", SERVER_1816).name == "push"
    assert policy.diff_mode("auto", SERVER_1816, chdb=False).name == "push"
    with pytest.raises(BadInput, match="not installed"):
        policy.diff_mode("pull", SERVER_1816, chdb=False)


def test_a_server_whose_http_interface_does_not_answer_is_diffed_in_push_saying_how_to_enable_the_copy():
    why = "the default HTTP port 127.0.0.1:8123 does not answer over HTTP"
    auto = policy.diff_mode("auto", SERVER_1816, no_http=why)
    assert auto.name == "push" and why in auto.why and "http_port=" in auto.why
    with pytest.raises(RuntimeFailure, match="copies the server's rows over HTTP.*set http_port="):
        policy.diff_mode("pull", SERVER_1816, no_http=why)


@pytest.mark.parametrize("grain, differing, expected", [
    ("day", 10_000, "swap"), ("day", 1, "swap"), ("month", 10_000, "swap"), ("month", 5, "repair"),
    (None, 5, "repair"), (None, 10_000, "bulk")])
def test_auto_strategy_follows_the_partitions_and_the_drift(grain, differing, expected):
    caps = dataclasses.replace(EMBEDDED, partition_grain=grain,
                               partition_key={"day": "toYYYYMMDD(d)", "month": "toYYYYMM(d)", None: "tuple()"}[grain])
    chosen = policy.strategy("auto", tuple(STRATEGIES), caps, policy.Drift(rows=100_000, differing=differing), GRAINS)
    assert chosen.name == expected and chosen.why


def test_swap_needs_day_or_month_partitions():
    caps = dataclasses.replace(EMBEDDED, partition_grain=None, partition_key="tuple()")
    with pytest.raises(BadInput, match="needs day or month partitions"):
        policy.strategy("swap", tuple(STRATEGIES), caps, policy.Drift(1, 1), GRAINS)
    with pytest.raises(BadInput, match="unknown strategy"):
        policy.strategy("shuffle", tuple(STRATEGIES), EMBEDDED, policy.Drift(1, 1), GRAINS)
    with pytest.raises(BadInput, match="unknown mode"):
        policy.write_mode("teleport", EMBEDDED, "swap", strategy_pulls=True)
