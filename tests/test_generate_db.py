"""The generator on a real embedded Postgres + chDB (the `env` fixture of conftest: chsync.embedded in a
tmp dir): what it returns as ground truth is what plain SQL finds on both sides, written here without
chsync's own queries (the seed's filter and drift definitions, written out again here)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pytest

from chsync.demo import shape
from chsync.demo.generate import generate
from chsync.errors import BadInput

CUSTOMER = "alaska-air"
DAY_FIELDS = ("source", "sink_rows", "sink_distinct", "duplicates", "missing", "stale", "changed")

# The seed's filter, over the whole range; a conversation's day is the UTC date of ended_at.
PASSING_SQL = """
    SELECT (c.ended_at AT TIME ZONE 'UTC')::date::text AS day, c.id::text
    FROM conversations c
    JOIN profiles p ON p.id = c.profile_id AND p.customer_id = %(customer)s
    JOIN users u ON u.id = c.agent_user_id AND u.is_dev_user = FALSE
    WHERE c.customer_id = %(customer)s AND c.ended_at IS NOT NULL
      AND c.ended_at >= '2026-01-01 00:00:00+00' AND c.ended_at < '2026-02-19 00:00:00+00'
      AND c.source_type IN ('voice', 'chat') AND c.has_agent_assistance = TRUE"""

# Postgres rows in the sink's text form (NULL -> '', labels sorted by bytes, ms, UTC).
PG_ROWS_SQL = """
    SELECT c.id::text, c.customer_id, c.profile_id, coalesce(c.usecase_id, ''), coalesce(c.agent_user_id, ''),
           c.source_type, to_char(c.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'),
           to_char(c.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'),
           ARRAY(SELECT l.label FROM conversation_labels l WHERE l.conversation_id = c.id ORDER BY l.label COLLATE "C"),
           to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')
    FROM conversations c WHERE c.id::text = ANY(%(ids)s)"""
SINK_ROWS_SQL = """
    SELECT toString(conversation_id), customer_id, profile_id, usecase_id, agent_user_id, toString(source_type),
           toString(started_at), toString(ended_at), labels, toString(updated_at), toString(toDate(ended_at))
    FROM {table}"""
COLUMNS = ("conversation_id", "customer_id", "profile_id", "usecase_id", "agent_user_id", "source_type",
           "started_at", "ended_at", "labels", "updated_at")


@pytest.fixture(scope="module")
def generated(pg_server, tmp_path_factory):
    """One generation at scale 0.01 shared by the read-only checks below (a fresh database and chDB dir)."""
    from conftest import Env
    env = Env(pg_server, tmp_path_factory.mktemp("gen"))
    steps = []
    with env.sink() as sink:
        truth = generate(env.source, sink, scale=0.01, seed=3, customer=CUSTOMER, progress=steps.append)
        sink_rows = sink.rows(SINK_ROWS_SQL.format(table=sink.table))
    with env.pg() as conn:
        passing = conn.execute(PASSING_SQL, {"customer": CUSTOMER}).fetchall()
    return env, truth, sink_rows, passing, steps


def _sink_by_day(sink_rows) -> dict[str, Counter]:
    by_day: dict[str, Counter] = defaultdict(Counter)
    for row in sink_rows:
        by_day[row[-1]][row[0]] += 1
    return by_day


def _source_by_day(passing) -> dict[str, set]:
    by_day: dict[str, set] = defaultdict(set)
    for day, cid in passing:
        by_day[day].add(cid)
    return by_day


def test_per_day_counts_equal_the_ground_truth(generated):
    _, truth, sink_rows, passing, steps = generated
    sink, source = _sink_by_day(sink_rows), _source_by_day(passing)
    assert set(sink) <= set(truth["days"]) and set(source) <= set(truth["days"])
    assert list(truth["days"]) == [d.isoformat() for d in shape.DAYS]
    for day, want in truth["days"].items():
        snk, src = sink.get(day, Counter()), source.get(day, set())
        got = {"source": len(src), "sink_rows": sum(snk.values()), "sink_distinct": len(snk),
               "duplicates": sum(1 for n in snk.values() if n > 1),
               "missing": len(src - set(snk)), "stale": len(set(snk) - src)}
        assert got == {k: want[k] for k in got}, day
        assert all(n <= 2 for n in snk.values()), day
    assert truth["totals"] == {k: sum(d[k] for d in truth["days"].values()) for k in DAY_FIELDS}
    assert truth["totals"]["source"] == round(1_510_418 * 0.01)
    assert steps, "progress was reported"


def test_changed_columns_and_duplicates_are_as_the_truth_says(generated):
    env, truth, sink_rows, passing, _ = generated
    source_day = {cid: day for day, cid in passing}
    newest: dict[str, tuple] = {}
    rows_of: dict[str, list] = defaultdict(list)
    for row in sink_rows:
        rows_of[row[0]].append(row[:10])
        if row[0] not in newest or row[9] > newest[row[0]][9]:
            newest[row[0]] = row[:10]
    both = sorted(cid for cid, row in newest.items() if source_day.get(cid) == row[7][:10])   # per day (§4)
    with env.pg() as conn:
        pg = {r[0]: tuple(r) for r in conn.execute(PG_ROWS_SQL, {"ids": both}).fetchall()}
    changed_per_day: Counter = Counter()
    columns: Counter = Counter()
    for cid in both:
        sink_row, pg_row = newest[cid], pg[cid]
        differ = [COLUMNS[i] for i in range(10) if _norm(sink_row[i]) != _norm(pg_row[i])]
        if differ:
            changed_per_day[pg_row[7][:10]] += 1
            columns.update(differ)
        if len(rows_of[cid]) == 2:   # a duplicate: the newest row is Postgres', the other older, another agent
            older = min(rows_of[cid], key=lambda r: r[9])
            assert not differ and older[9] < sink_row[9] and older[4] != sink_row[4], cid
    assert dict(columns) == {k: v for k, v in truth["changed_columns"].items() if v}
    assert {d: changed_per_day.get(d, 0) for d in truth["days"]} == \
        {d: v["changed"] for d, v in truth["days"].items()}


def _norm(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def test_stale_reasons_by_plain_sql(generated):
    env, truth, sink_rows, passing, _ = generated
    source = _source_by_day(passing)
    stale = [(day, cid) for day, ids in _sink_by_day(sink_rows).items() for cid in ids if cid not in source[day]]
    passing_day = {cid: day for day, cid in passing}
    with env.pg() as conn:
        now = {r[0]: r[1:] for r in conn.execute(
            """SELECT c.id::text, c.ended_at, u.is_dev_user, c.source_type, c.has_agent_assistance,
                      c.customer_id, p.customer_id
               FROM conversations c LEFT JOIN users u ON u.id = c.agent_user_id
               LEFT JOIN profiles p ON p.id = c.profile_id WHERE c.id::text = ANY(%s)""",
            ([cid for _, cid in stale],)).fetchall()}
    reasons: Counter = Counter()
    for day, cid in stale:   # the first reason that applies
        if cid not in now:
            reasons["deleted"] += 1
            continue
        ended, dev, source_type, assist, customer, profile_customer = now[cid]
        if ended is None:
            reasons["ended_at_reset"] += 1
        elif cid in passing_day and passing_day[cid] != day:
            reasons["day_moved"] += 1
        elif dev is None or dev:
            reasons["dev_user"] += 1
        elif source_type not in ("voice", "chat"):
            reasons["source_type_changed"] += 1
        elif not assist:
            reasons["no_agent_assistance"] += 1
        elif customer != CUSTOMER or profile_customer != CUSTOMER:
            reasons["customer_changed"] += 1
        else:
            reasons["still passes?"] += 1
    assert dict(reasons) == {k: v for k, v in truth["stale_reasons"].items() if v}
    assert all(v > 0 for v in truth["stale_reasons"].values())


def test_usecases_by_plain_sql(generated):
    env, truth, sink_rows, passing, _ = generated
    with env.pg() as conn:
        names = dict(conn.execute("SELECT id, name FROM usecases WHERE customer_id = %s", (CUSTOMER,)).fetchall())
        source = Counter(r[0] for r in conn.execute(
            f"SELECT coalesce(uc.name, '') FROM ({PASSING_SQL}) x JOIN conversations c ON c.id::text = x.id "
            "LEFT JOIN usecases uc ON uc.id = c.usecase_id", {"customer": CUSTOMER}).fetchall())
    sink_usecase = {r[0]: r[3] for r in sink_rows}   # a duplicate's rows share the usecase
    sink = Counter(names.get(uc, uc) for uc in sink_usecase.values())
    assert dict(source) == truth["breakdown"]["source"]
    assert dict(sink) == truth["breakdown"]["sink"]
    assert sorted(names.values()) == sorted(shape.USECASES)
    total = sum(source.values())
    for usecase, n in shape.USECASES.items():   # the seed's mix (±3%, ±2 for the smallest at this scale)
        assert abs(source[usecase] - n * total / 1_510_418) <= max(2, 0.03 * n * total / 1_510_418), usecase
    assert sink["reservations-chat"] > 1.35 * source["reservations-chat"]   # the seed's 1.4x
    assert sink["chat"] < 0.9 * source["chat"]                              # the seed's 0.8x


def test_untouched_rows_have_equal_fingerprints(generated):
    """A conversation without drift is byte-identical on both sides: chsync's own row fingerprints
    (source.day_hashes / sink.day_hashes) differ only for the changed ones."""
    from conftest import seed_spec

    from chsync.source import open_source
    env, truth, *_ = generated
    source = open_source(env.source, seed_spec())
    try:
        with env.sink() as sink:
            for day in (shape.DAYS[0], dt.date(2026, 1, 20), shape.DAYS[-1]):
                src = dict(zip(*(c.to_pylist() for c in source.day_hashes(day, 3).columns)))
                snk: dict[str, set] = defaultdict(set)
                for cid, h in zip(*(c.to_pylist() for c in sink.day_hashes(day).columns)):
                    snk[cid].add(h)
                differ = sum(1 for cid, h in src.items() if cid in snk and h not in snk[cid])
                assert differ == truth["days"][day.isoformat()]["changed"], day
                assert sum(1 for cid, h in src.items() if cid in snk and h in snk[cid]) > 0
    finally:
        source.close()


def test_source_reference_data_noise_and_constraints(generated):
    env, truth, sink_rows, passing, _ = generated
    in_sink = {r[0] for r in sink_rows}
    with env.pg() as conn:
        one = lambda sql, *p: conn.execute(sql, p).fetchone()
        assert one("SELECT count(*), count(*) FILTER (WHERE customer_id = %s) FROM profiles", CUSTOMER) == (88, 1)
        assert one("SELECT count(*) FROM customers")[0] >= 5
        assert one("SELECT count(*) FILTER (WHERE is_dev_user), count(*) FILTER (WHERE NOT is_dev_user) "
                   "FROM users WHERE customer_id = %s", CUSTOMER) == (shape.DEV_AGENTS, shape.AGENTS)
        # labels: 0-3 per conversation, the awkward ones present
        per = dict(conn.execute("SELECT n, count(*) FROM (SELECT c.id, count(l.label) n FROM conversations c "
                                "LEFT JOIN conversation_labels l ON l.conversation_id = c.id GROUP BY 1) x "
                                "GROUP BY 1").fetchall())
        assert set(per) == {0, 1, 2, 3}
        labels = {r[0] for r in conn.execute("SELECT DISTINCT label FROM conversation_labels")}
        assert {"café", "o'brien", "a,b"} <= labels
        assert one("SELECT count(*) FROM conversation_labels")[0] == truth["postgres"]["child_rows"]
        # times: milliseconds, started < ended <= updated
        assert one("""SELECT count(*) FROM conversations WHERE date_trunc('milliseconds', started_at) <> started_at
                      OR date_trunc('milliseconds', updated_at) <> updated_at
                      OR date_trunc('milliseconds', ended_at) <> ended_at
                      OR started_at >= ended_at OR updated_at < ended_at OR updated_at < started_at""")[0] == 0
        assert one("SELECT count(*) FROM conversations")[0] == truth["postgres"]["rows"]
        # noise: each way of failing the filter occurs, and no failing conversation is in the sink
        noise = dict(conn.execute(
            """SELECT kind, count(*) FROM (SELECT CASE
                 WHEN c.customer_id <> %(c)s THEN 'other customer'
                 WHEN p.customer_id <> %(c)s THEN 'profile of another customer'
                 WHEN c.ended_at IS NULL THEN 'open'
                 WHEN c.ended_at < '2026-01-01 00:00:00+00' THEN 'before'
                 WHEN c.ended_at >= '2026-02-19 00:00:00+00' THEN 'after'
                 WHEN c.agent_user_id IS NULL THEN 'no agent'
                 WHEN u.is_dev_user THEN 'dev agent'
                 WHEN c.source_type NOT IN ('voice', 'chat') THEN c.source_type
                 WHEN NOT c.has_agent_assistance THEN 'no assistance' END AS kind
               FROM conversations c JOIN profiles p ON p.id = c.profile_id
               LEFT JOIN users u ON u.id = c.agent_user_id) x WHERE kind IS NOT NULL GROUP BY 1""",
            {"c": CUSTOMER}).fetchall())
        assert set(noise) == {"other customer", "profile of another customer", "open", "before", "after",
                              "no agent", "dev agent", "email", "sms", "api", "no assistance"}, noise
        assert 0.12 < sum(noise.values()) / truth["totals"]["source"] < 0.35
        boundary = one("SELECT count(*) FILTER (WHERE ended_at = '2025-12-31 23:59:59.999+00'), "
                       "count(*) FILTER (WHERE ended_at = '2026-02-19 00:00:00+00') FROM conversations")
        assert boundary[0] > 0 and boundary[1] > 0
        failing = {r[0] for r in conn.execute(
            f"SELECT id::text FROM conversations EXCEPT SELECT id FROM ({PASSING_SQL}) x",
            {"customer": CUSTOMER}).fetchall()}
        stale_total = truth["totals"]["stale"] - truth["stale_reasons"]["deleted"] - \
            truth["stale_reasons"]["day_moved"]
        assert len(failing & in_sink) == stale_total   # only the stale ones, never noise
        constraints = {(r[0], r[1]) for r in conn.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace")}
        for want in [("conversations", "PRIMARY KEY (id)"),
                     ("conversation_labels", "PRIMARY KEY (conversation_id, label)"),
                     ("conversation_labels", "FOREIGN KEY (conversation_id) REFERENCES conversations(id)"),
                     ("profiles", "FOREIGN KEY (customer_id) REFERENCES customers(id)")]:
            assert want in constraints


def test_same_seed_same_data_other_seed_other_ids(env):
    def snapshot(seed):
        with env.sink() as sink:
            truth = generate(env.source, sink, scale=0.01, seed=seed)
            rows = Counter(sink.rows(f"SELECT toString(conversation_id), agent_user_id, usecase_id, "
                                     f"arrayStringConcat(labels, '|'), toString(updated_at) FROM {sink.table}"))
        with env.pg() as conn:
            pg = conn.execute("SELECT md5(string_agg(c::text, '|' ORDER BY c.id)) FROM conversations c").fetchone()
            labels = conn.execute("SELECT md5(string_agg(l::text, '|' ORDER BY l.conversation_id, l.label)) "
                                  "FROM conversation_labels l").fetchone()
        return truth, rows, pg, labels

    first, second = snapshot(4), snapshot(4)
    assert first[0] == second[0]
    assert first[1] == second[1] and first[2:] == second[2:]
    other = snapshot(5)
    assert other[0]["days"] == first[0]["days"] and other[0]["stale_reasons"] == first[0]["stale_reasons"]
    assert not ({r[0] for r in other[1]} & {r[0] for r in first[1]})


def test_bad_input(env):
    with env.sink() as sink:
        for scale in (0, -1.0, float("nan")):
            with pytest.raises(BadInput, match="scale"):
                generate(env.source, sink, scale=scale)
        with pytest.raises(BadInput, match="customer"):
            generate(env.source, sink, scale=0.01, customer="bad name;")
