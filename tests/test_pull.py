"""Pull mode: the sink reads Postgres itself through postgresql() (chDB here), for sync, backfill and diff."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys

import pytest

from builders import World
from chsync.errors import BadInput
from chsync.plan import choose_mode
from chsync.sink.capabilities import Capabilities

FIRST, LAST = "2026-01-01", "2026-02-18"
RANGE = ("--from", FIRST, "--to", LAST)
PASSWORD = "Pull-pw-7Kq2"


@pytest.fixture
def drifted(env):
    """Seed-shaped drifted data at small scale (stale, changed, missing, duplicates on every day)."""
    env.cli("generate", "--scale", "0.01", "--seed", "5", check=True)
    return env


def _without_mode(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "mode"}


def test_pull_and_push_diffs_find_the_same_rows_for_the_same_reasons(drifted):
    push = drifted.cli_json("diff", *RANGE, "--mode", "push", "--limit", "100000", expect=1)
    assert push["classes"]["stale"] > 0 and push["classes"]["changed"] > 0 and push["classes"]["duplicates"] > 0
    for window_rows in ("2000000", "1500"):  # the whole range in one window, then windows of ~5 days
        done = drifted.cli("diff", *RANGE, "--mode", "pull", "--limit", "100000", "--json",
                           env={"CHSYNC_DIFF_WINDOW_ROWS": window_rows})
        assert done.returncode == 1, done.stderr
        pull = json.loads(done.stdout)
        assert pull["mode"]["mode"] == "pull" and push["mode"]["mode"] == "push"
        assert _without_mode(pull) == _without_mode(push)


def test_pull_sync_makes_the_sink_equal_postgres_and_rerunning_never_duplicates(drifted):
    for window_rows in ("250000", "700"):  # one window for the range, then windows of 2-3 days
        done = drifted.cli("sync", *RANGE, "--mode", "pull", "--json", env={"CHSYNC_PULL_WINDOW_ROWS": window_rows})
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["mode"] == "pull" and not json.loads(done.stdout)["refused"]
    proof = drifted.cli_json("verify", *RANGE)  # push: Postgres hashes its own rows
    assert proof["in_sync"] and proof["mode"]["mode"] == "push"
    assert proof["sink"]["rows"] == proof["sink"]["distinct"] == proof["source"]["conversations"]


def test_pull_backfill_swaps_every_day_and_the_plan_hides_credentials(drifted, tmp_path):
    plan = drifted.cli_json("plan", *RANGE, "--strategy", "swap", "--mode", "pull", "--out", str(tmp_path / "p.json"))
    assert plan["mode"] == "pull" and "postgresql(<source, credentials hidden>)" in json.dumps(plan)
    result = drifted.cli_json("backfill", "--plan", str(tmp_path / "p.json"), "--yes")
    assert result["verify"] == {"in_sync": True, "days_out_of_sync": [], "duplicate_conversations": 0}


def test_pull_mode_never_shows_the_password_even_when_the_pull_fails(env):
    with env.pg() as conn:
        World(conn).add(dt.date(2026, 1, 20), n=5)
        conn.execute(f"CREATE ROLE pull_reader LOGIN PASSWORD '{PASSWORD}' SUPERUSER")
    env.source = env.source.replace("postgres@", f"pull_reader:{PASSWORD}@")
    env.cli("init", check=True)
    ok = env.cli("sync", "--day", "2026-01-20", "--mode", "pull")
    assert ok.returncode == 0, ok.stderr
    with env.pg() as conn:
        conn.execute("ALTER TABLE conversation_labels RENAME TO conversation_labels_gone")
    failed = env.cli("sync", "--day", "2026-01-20", "--mode", "pull")
    assert failed.returncode == 4
    assert "conversation_labels" in failed.stderr and PASSWORD not in failed.stderr + ok.stderr + ok.stdout


SHIFTED_CLIENT = """
import os, sys, datetime as dt
from chsync.apply.day_swap import swap_day
from chsync.errors import RuntimeFailure
from chsync.sink import open_sink
from chsync.sink.chdb import ChdbSink
from chsync.sink.pull import Puller
from chsync.source import open_source
from chsync.spec import Spec
# A sink whose Postgres client is not in UTC (a server we cannot configure): timestamptz arrives shifted.
ChdbSink.prepare_pull = lambda self: os.environ.__setitem__("PGTZ", "Asia/Tokyo")
sink, source = open_sink(sys.argv[1], Spec()), open_source(sys.argv[2], Spec())
try:
    swap_day(source, sink, dt.date(2026, 1, 20), puller=Puller(sink, source))
    print("swapped")
except RuntimeFailure as e:
    print(e)
"""


def test_a_pull_whose_times_arrive_shifted_is_refused_and_the_day_left_untouched(env):
    with env.pg() as conn:
        w = World(conn)
        w.add(dt.date(2026, 1, 20), n=20, second=3600 * 22)  # late evening: a zone shift moves them a day
    env.cli("init", check=True)
    env.cli("sync", "--day", "2026-01-20", check=True)
    with env.pg() as conn:
        w = World.attach(conn)
        w.add(dt.date(2026, 1, 20), n=3)
    with env.sink() as sink:
        before = sink.table_fingerprint(sink.table, dt.date(2026, 1, 20))
    done = subprocess.run([sys.executable, "-c", SHIFTED_CLIENT, env.sink_url, env.source],
                          capture_output=True, text=True, timeout=300)
    assert "time zone" in done.stdout and "live day left untouched" in done.stdout, done.stdout + done.stderr
    with env.sink() as sink:
        assert sink.table_fingerprint(sink.table, dt.date(2026, 1, 20)) == before


SERVER_1816 = Capabilities(backend="server", version="18.16.1", time_precision=0,
                           partition_key="toYYYYMMDD(ended_at)", cluster="replicated", shards=3)


def test_mode_choice_reads_the_capabilities():
    assert choose_mode("auto", SERVER_1816)[0] == "push"
    assert "no postgresql() table function" in choose_mode("auto", SERVER_1816)[1]
    with pytest.raises(BadInput, match="needs the postgresql\\(\\) table function.*use --mode push"):
        choose_mode("pull", SERVER_1816)
    new_server = dataclasses.replace(SERVER_1816, version="24.8.1", postgresql_function=True)
    assert choose_mode("auto", new_server)[0] == "push"  # it may not reach Postgres where chsync does
    assert choose_mode("pull", new_server)[0] == "pull"
    embedded = dataclasses.replace(new_server, backend="chdb")
    assert choose_mode("auto", embedded)[0] == "pull" and choose_mode("auto", embedded, "repair")[0] == "push"
    with pytest.raises(BadInput, match="works with the swap strategy"):
        choose_mode("pull", embedded, "bulk")


def test_a_server_diff_compares_in_process_whatever_the_version(monkeypatch):
    # The server only serves its rows over HTTP; chDB here reads Postgres and compares (sink/mirror.py).
    assert choose_mode("auto", SERVER_1816, "diff")[0] == "pull"
    assert "copied over HTTP into an in-process chDB" in choose_mode("auto", SERVER_1816, "diff")[1]
    assert choose_mode("push", SERVER_1816, "diff")[0] == "push"
    monkeypatch.setattr("chsync.sink.mirror.available", lambda: False)
    assert choose_mode("auto", SERVER_1816, "diff")[0] == "push"
    with pytest.raises(BadInput, match="chDB, which is not installed: pip install 'chsync\\[embedded\\]'"):
        choose_mode("pull", SERVER_1816, "diff")
