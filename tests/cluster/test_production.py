"""Server sinks as production runs them, on the real 3-shard 18.16 cluster: native TLS with a throwaway CA,
an auto mode that probes the HTTP interface before trusting it, no unbounded wait (a node hung with
SIGSTOP ends the run naming it, within the timeout), and a journal and lock that survive their node."""

from __future__ import annotations

import json
import time

import pytest
from builders import Paused, World, journal_of_last_run
from clickhouse_driver import Client
from conftest import cluster_spec, drop_cluster_database, on_cluster

from chsync.demo.generate import generate
from chsync.sink import open_sink

pytestmark = pytest.mark.cluster
FULL = ("--from", "2026-01-01", "--to", "2026-02-18")
RANGE = ("--from", "2026-01-18", "--to", "2026-01-23")
DAY = "2026-01-21"
TIMEOUTS = "timeout=5&connect_timeout=2"


def _generate(env):
    with open_sink(env.sink_url, cluster_spec(env)) as sink:
        env.truth = generate(env.source, sink, scale=0.003, seed=5)
    return env


@pytest.fixture
def drifted(env, local_cluster, tmp_path):
    """Seed-shaped drifted data on the cluster, chsync talking to node 1 with short timeouts."""
    on_cluster(env, local_cluster, tmp_path, extra=TIMEOUTS)
    yield _generate(env)
    for i in range(local_cluster.shards):
        local_cluster.wake_shard(i)
    drop_cluster_database(env)


def _same_as_truth(doc: dict, truth: dict) -> None:
    for row in doc["days"]:
        assert {k: row[k] for k in truth["days"][row["day"]]} == truth["days"][row["day"]], row["day"]
    assert doc["stale_reasons"] == truth["stale_reasons"] and doc["changed_columns"] == truth["changed_columns"]


# -- TLS -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cluster", ["local_cluster", "replica_cluster"])
def test_native_tls_with_a_ca_end_to_end(env, cluster, tmp_path, request):
    """The seed's setup: native TLS with a CA, on one and on two replicas per shard (every replica proven
    over TLS too)."""
    local_cluster = request.getfixturevalue(cluster)
    on_cluster(env, local_cluster, tmp_path, tls=True)
    assert env.sink_url.startswith("clickhouses://") and "ca_certs=" in env.sink_url
    _generate(env)
    scope = env.cli_json("scope", *FULL)
    assert scope["mode"]["mode"] == "pull", scope["mode"]        # chDB copies over https, trusting the CA
    _same_as_truth(scope, env.truth)
    done = env.cli_json("backfill", *FULL, "--strategy", "swap", "--yes")
    assert done["verify"]["in_sync"] and done["verify"]["duplicate_keys"] == 0
    assert env.cli("verify", *FULL).returncode == 0
    assert env.cli_json("sync", "--day", DAY, "--lookback", "3")["drifted"] == []
    unverified = env.sink_url.split("?")[0] + "?" + "&".join(
        p for p in env.sink_url.split("?")[1].split("&") if not p.startswith("ca_certs=")) + "&verify=0"
    assert env.cli("verify", *FULL, env={"CHSYNC_SINK": unverified}).returncode == 0
    drop_cluster_database(env)


def test_a_wrong_ca_is_one_line_naming_the_certificate_problem(env, local_cluster, tmp_path):
    on_cluster(env, local_cluster, tmp_path, tls=True)
    wrong = env.sink_url.replace(str(local_cluster.ca), str(local_cluster.other_ca))
    with env.pg() as conn:
        World(conn)                       # init checks the spec against Postgres before it meets the sink
    done = env.cli("init", env={"CHSYNC_SINK": wrong})
    assert done.returncode == 4, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "CERTIFICATE_VERIFY_FAILED" in lines[0], done.stderr
    assert local_cluster.password not in done.stderr + done.stdout
    drop_cluster_database(env)


# -- auto mode -----------------------------------------------------------------------------------------

def test_a_url_without_http_port_on_a_cluster_whose_http_is_elsewhere_runs_push_in_seconds(env, local_cluster,
                                                                                          tmp_path):
    on_cluster(env, local_cluster, tmp_path, http_port=False)
    _generate(env)
    started = time.monotonic()
    scope = env.cli_json("scope", *FULL)
    assert time.monotonic() - started < 30
    assert scope["mode"]["mode"] == "push" and "does not answer" in scope["mode"]["why"]
    assert "http_port=" in scope["mode"]["why"]
    _same_as_truth(scope, env.truth)
    # a port that answers, as another server: still push, saying so
    other = env.sink_url + f"&http_port={local_cluster.http_ports[1]}"
    doc = json.loads(env.cli("scope", *RANGE, "--json", env={"CHSYNC_SINK": other}).stdout)
    assert doc["mode"]["mode"] == "push" and "belongs to another ClickHouse server" in doc["mode"]["why"]
    drop_cluster_database(env)


# -- hung nodes (SIGSTOP: the node keeps its sockets and answers nothing) --------------------------------

def _fingerprint(env, day: str):
    with env.sink(cluster_spec(env)) as sink:
        import datetime as dt
        return sink.table_fingerprint(sink.read_table, dt.date.fromisoformat(day))


def _ends_naming(done, node: str, started: float, limit: float) -> None:
    assert done.returncode == 4, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("chsync: error:")]
    assert len(errors) == 1 and node in errors[0], done.stderr
    assert time.monotonic() - started < limit, f"took {time.monotonic() - started:.0f}s"


def test_a_shard_hung_before_a_days_swap_leaves_the_day_untouched(drifted, tmp_path):
    cluster, node = drifted.cluster, f"127.0.0.1:{drifted.cluster.tcp_ports[1]}"
    before = _fingerprint(drifted, DAY)
    paused = Paused(drifted.argv("backfill", *RANGE, "--strategy", "swap", "--yes"), drifted.environ(),
                    f"read:{DAY}", tmp_path / "fault")
    cluster.hang_shard(1)
    started = time.monotonic()
    paused.go()
    _ends_naming(paused.wait(), node, started, 60)
    cluster.wake_shard(1)
    assert _fingerprint(drifted, DAY) == before, "the day not yet swapped is untouched"
    run, meta, states = journal_of_last_run(drifted)
    assert states[DAY] == "failed" and meta["state"] == "failed"
    assert drifted.cli_json("backfill", "--resume", "last", "--yes")["verify"]["in_sync"]


def test_a_shard_hung_during_a_node_by_node_swap_is_journaled_and_resumed(drifted, tmp_path):
    cluster = drifted.cluster
    paused = Paused(drifted.argv("backfill", *RANGE, "--strategy", "swap", "--yes"), drifted.environ(),
                    f"swapping:{DAY}", tmp_path / "fault")      # after the first node swapped
    cluster.hang_shard(1)
    started = time.monotonic()
    paused.go()
    _ends_naming(paused.wait(), f"127.0.0.1:{cluster.tcp_ports[1]}", started, 90)
    cluster.wake_shard(1)
    run, meta, states = journal_of_last_run(drifted)
    with drifted.sink(cluster_spec(drifted)) as sink:
        from chsync.apply.journal import Journal
        events = [e for e in Journal(sink).day_events(run) if e["day"] == DAY]
    assert [e["detail"] for e in events if e["state"] == "swapping"] == [
        f"swapped on 127.0.0.1:{cluster.tcp_ports[0]} (1 of 3 nodes)"]
    assert states[DAY] == "failed"
    resumed = drifted.cli_json("backfill", "--resume", run, "--yes")
    assert resumed["verify"]["in_sync"] and resumed["verify"]["duplicate_keys"] == 0


@pytest.mark.parametrize("mode", ["push", "auto"])
def test_a_shard_hung_during_a_diff_ends_naming_it(drifted, mode):
    drifted.cluster.hang_shard(2)
    started = time.monotonic()
    done = drifted.cli("diff", *FULL, "--mode", mode)
    _ends_naming(done, f"127.0.0.1:{drifted.cluster.tcp_ports[2]}", started, 60)
    drifted.cluster.wake_shard(2)


# -- the journal and the lock survive their node --------------------------------------------------------

def _engines(cluster, db: str) -> list[dict]:
    return [dict(Client("127.0.0.1", port=p).execute(
        f"SELECT name, engine FROM system.tables WHERE database = '{db}' AND name LIKE 'chsync_%'"))
        for p in cluster.tcp_ports]


def test_the_connected_node_dies_mid_backfill_another_shows_the_run_refuses_a_writer_and_resumes(drifted, tmp_path):
    cluster = drifted.cluster
    paused = Paused(drifted.argv("backfill", *RANGE, "--strategy", "swap", "--yes"), drifted.environ(),
                    f"staged:{DAY}", tmp_path / "fault")
    # the runs, the days, the lock and the ledger of proofs, each replicated to every node
    assert all(set(e.values()) == {"ReplicatedMergeTree"} and len(e) == 4 for e in _engines(cluster, drifted.db))
    cluster.kill_shard(0)                       # the node chsync talks to
    paused.go()
    assert paused.wait().returncode == 4
    via_node_2 = {"CHSYNC_SINK": drifted.sink_url.replace(f":{cluster.tcp_ports[0]}/", f":{cluster.tcp_ports[1]}/")}
    shown = drifted.cli("runs", "--json", env=via_node_2)
    assert shown.returncode == 0, shown.stderr
    listed = json.loads(shown.stdout)["runs"]
    assert listed[0]["state"] == "running" and listed[0]["to"] == "2026-01-23"
    second = drifted.cli("backfill", *RANGE, "--strategy", "swap", "--yes", env=via_node_2)
    assert second.returncode == 3 and f"locked by run {listed[0]['run']} (pid {paused.pid} on " in second.stderr
    cluster.start_shard(0)
    done = drifted.cli("backfill", "--resume", "last", "--yes", "--json", env=via_node_2)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verify"]["in_sync"]


def test_two_writers_racing_for_the_lock_through_two_nodes_one_wins(drifted, tmp_path):
    cluster = drifted.cluster
    urls = [drifted.sink_url, drifted.sink_url.replace(f":{cluster.tcp_ports[0]}/", f":{cluster.tcp_ports[1]}/")]
    for attempt in range(3):
        racers = [Paused(drifted.argv("backfill", *RANGE, "--strategy", "swap", "--yes"),
                         drifted.environ({"CHSYNC_SINK": url}), "lock,pause:planned", tmp_path / f"r{attempt}-{i}",
                         wait=False) for i, url in enumerate(urls)]
        assert all(r.next_pause() is not None for r in racers), "both reach the lock"
        for r in racers:
            r.go()
        outcomes = [r.next_pause(120) for r in racers]   # the winner pauses after planning; the loser exits
        winners = [r for r, o in zip(racers, outcomes) if o is not None]
        losers = [r for r, o in zip(racers, outcomes) if o is None]
        assert len(winners) == 1 and len(losers) == 1, [o for o in outcomes]
        refused = losers[0].wait()
        assert refused.returncode == 3 and "is locked by run" in refused.stderr, refused.stderr
        winners[0].go()
        assert winners[0].wait().returncode == 0


def test_a_journal_of_an_earlier_version_is_converted_in_place_and_its_run_resumes(drifted):
    """Plain journal tables on one node, with a run killed mid-way, as chsync wrote them before."""
    cluster, db = drifted.cluster, drifted.db
    plan = drifted.cli_json("plan", *RANGE, "--strategy", "swap")
    node = Client("127.0.0.1", port=cluster.tcp_ports[0])
    for table in ("chsync_runs", "chsync_journal", "chsync_locks"):
        node.execute(f"DROP TABLE IF EXISTS {db}.{table} ON CLUSTER replicated")
    node.execute(f"CREATE TABLE {db}.chsync_runs (run String, customer String, sink_table String, from_day String, "
                 "to_day String, strategy String, state String, at UInt64, detail String, plan String) "
                 "ENGINE = MergeTree ORDER BY (run, at)")
    node.execute(f"CREATE TABLE {db}.chsync_journal (run String, day String, state String, at UInt64, rows Int64, "
                 "seconds Float64, detail String) ENGINE = MergeTree ORDER BY (run, at)")
    node.execute(f"CREATE TABLE {db}.chsync_locks (sink_table String, run String, host String, pid UInt32, "
                 "since UInt64, released UInt8, at UInt64) ENGINE = MergeTree ORDER BY (sink_table, at)")
    old_plan = {k: v for k, v in plan.items() if k not in ("spec", "table", "chsync_version")}
    run, now = "20260101T000000Z-0ld0", int(time.time() * 1000)
    node.execute(f"INSERT INTO {db}.chsync_runs VALUES",
                 [(run, "alaska-air", plan["sink_table"], "2026-01-18", "2026-01-23", "swap", "running", now, "",
                   json.dumps(old_plan))])
    node.execute(f"INSERT INTO {db}.chsync_journal VALUES",
                 [(run, d["day"], "planned", now + 1, 0, 0.0, "") for d in plan["days"]])
    node.execute(f"INSERT INTO {db}.chsync_locks VALUES",
                 [(plan["sink_table"], run, "gone-host", 1, now, 0, now)])
    listed = drifted.cli_json("runs")["runs"]
    assert [(r["run"], r["state"]) for r in listed] == [(run, "running")]
    assert all(set(e.get(t) for t in ("chsync_runs", "chsync_journal", "chsync_locks")) == {"ReplicatedMergeTree"}
               for e in _engines(cluster, db))
    refused = drifted.cli("backfill", *RANGE, "--yes")
    assert refused.returncode == 3 and "gone-host" in refused.stderr and "--take-over" in refused.stderr
    done = drifted.cli_json("backfill", "--resume", run, "--take-over", "--yes")
    assert done["run"] == run and done["verify"]["in_sync"]

