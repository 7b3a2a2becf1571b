"""Pull mode: the sink reads Postgres itself through postgresql() (chDB here), for sync, backfill and diff."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from builders import BREAK_LABELS, World

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
    # a few samples only: each window's keys are dropped once counted, and the counts, reasons, columns
    # and the first samples stay those of the diff that kept every key
    done = drifted.cli("diff", *RANGE, "--mode", "pull", "--limit", "3", "--json",
                       env={"CHSYNC_DIFF_WINDOW_ROWS": "1500"})
    few = json.loads(done.stdout)
    assert done.returncode == 1 and few["samples"] == {k: v[:3] for k, v in push["samples"].items()}
    assert _without_mode(few) | {"samples": None} == _without_mode(push) | {"samples": None}


def test_pull_sync_makes_the_sink_equal_postgres_and_rerunning_never_duplicates(drifted):
    for window_rows in ("250000", "700"):  # one window for the range, then windows of 2-3 days
        done = drifted.cli("sync", *RANGE, "--mode", "pull", "--json", env={"CHSYNC_PULL_WINDOW_ROWS": window_rows})
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["mode"] == "pull" and not json.loads(done.stdout)["refused"]
    proof = drifted.cli_json("verify", *RANGE)  # push: Postgres hashes its own rows
    assert proof["in_sync"] and proof["mode"]["mode"] == "push"
    assert proof["sink"]["rows"] == proof["sink"]["distinct"] == proof["source"]["rows"]


def test_pull_backfill_swaps_every_day_and_the_plan_hides_credentials(drifted, tmp_path):
    plan = drifted.cli_json("plan", *RANGE, "--strategy", "swap", "--mode", "pull", "--out", str(tmp_path / "p.json"))
    assert plan["mode"] == "pull" and "postgresql(<source, credentials hidden>)" in json.dumps(plan)
    result = drifted.cli_json("backfill", "--plan", str(tmp_path / "p.json"), "--yes")
    assert result["verify"] == {"in_sync": True, "days_out_of_sync": [], "duplicate_keys": 0}


def test_pull_mode_never_shows_the_password_even_when_the_pull_fails(env):
    with env.pg() as conn:
        World(conn).add(dt.date(2026, 1, 20), n=5)
        conn.execute(f"CREATE ROLE pull_reader LOGIN PASSWORD '{PASSWORD}' SUPERUSER")
    env.source = env.source.replace("postgres@", f"pull_reader:{PASSWORD}@")
    env.cli("init", check=True)
    ok = env.cli("sync", "--day", "2026-01-20", "--mode", "pull")
    assert ok.returncode == 0, ok.stderr
    with env.pg() as conn:
        conn.execute(BREAK_LABELS)
    failed = env.cli("sync", "--day", "2026-01-20", "--mode", "pull")
    assert failed.returncode == 4
    assert "division by zero" in failed.stderr and PASSWORD not in failed.stderr + ok.stderr + ok.stdout


SHIFTED_CLIENT = """
import os, sys, datetime as dt
from chsync.errors import RuntimeFailure
from chsync.pull.reader import Puller
from chsync.sink import open_sink
from chsync.sink.chdb import ChdbSink
from chsync.source import open_source
from chsync.spec import load_specs
from chsync.strategies.partition import Unit, swap_unit
# A sink whose Postgres client is not in UTC (a server we cannot configure): timestamptz arrives shifted.
ChdbSink.prepare_pull = lambda self: os.environ.__setitem__("PGTZ", "Asia/Tokyo")
spec = load_specs(None)[0]
sink, source = open_sink(sys.argv[1], spec), open_source(sys.argv[2], spec)
try:
    day = dt.date(2026, 1, 20)
    swap_unit(source, sink, Unit(day, day), puller=Puller(sink, source))
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
