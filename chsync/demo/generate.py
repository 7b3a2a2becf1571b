"""Seed-shaped data (DESIGN §8): a Postgres source and a drifted ClickHouse sink, plus the ground truth.

Everything is generated inside Postgres (generate_series, deterministic for a seed: one setseed, no
parallel workers) into a bookkeeping table `chsync_demo.gen` that records each conversation's drift
kind. The sink is written from that table as the old cron saw the rows; Postgres gets their current
state. The ground truth is counted from the bookkeeping, never with chsync's own queries.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg

from ..errors import Refused
from ..sink.base import ClickHouseSink
from ..source import schema
from . import shape

LABELS = ["baggage", "refund", "upgrade", "delay", "loyalty", "seat", "pet", "café", "o'brien", "a,b"]
LABEL_P = 0.12
OTHER_CUSTOMERS = [f"other-air-{i}" for i in range(1, shape.CUSTOMERS)]
PROFILE = "p-alaska-air-main"


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Generator:
    def __init__(self, conn: psycopg.Connection, scale: float, seed: int, customer: str, progress):
        self.conn, self.scale, self.seed, self.customer = conn, scale, seed, customer
        self.say = progress or (lambda message: None)
        self.days = shape.day_counts(scale)
        self.dups = shape.duplicate_counts(scale)

    def sql(self, statement: str, params=None) -> None:
        self.conn.execute(statement, params)

    # -- Postgres ------------------------------------------------------------------------------
    def reference_data(self) -> None:
        c = _q(self.customer)
        self.sql(f"INSERT INTO customers VALUES ({c}, 'Alaska Air')")
        self.sql("INSERT INTO customers SELECT unnest(%s::text[]), 'Other'", (OTHER_CUSTOMERS,))
        self.sql(f"INSERT INTO profiles VALUES ({_q(PROFILE)}, {c}, 'main')")
        self.sql(f"""INSERT INTO profiles SELECT 'p-other-' || g, (%s::text[])[1 + g %% {len(OTHER_CUSTOMERS)}],
                     'profile ' || g FROM generate_series(1, {shape.PROFILES - 1}) g""", (OTHER_CUSTOMERS,))
        self.sql(f"""INSERT INTO users SELECT 'agent-' || lpad(g::text, 4, '0'), {c}, false
                     FROM generate_series(1, {shape.AGENTS}) g""")
        self.sql(f"""INSERT INTO users SELECT 'dev-' || lpad(g::text, 3, '0'), {c}, true
                     FROM generate_series(1, {shape.DEV_AGENTS}) g""")
        self.sql("INSERT INTO users SELECT 'other-agent-' || g, 'other-air-1', false FROM generate_series(1, 200) g")
        for name in shape.USECASES:
            self.sql(f"INSERT INTO usecases VALUES ('uc-' || %s, {c}, %s)", (name, name))

    def _usecase_case(self, r: str, shares: dict[str, float]) -> str:
        parts, cum = [], 0.0
        for name, share in shares.items():
            cum += share
            parts.append(f"WHEN {r} < {cum!r} THEN 'uc-{name}'")
        return f"CASE {' '.join(parts[:-1])} ELSE 'uc-{list(shares)[-1]}' END"

    def _insert_gen(self, days_values: str, kind: str, shares: dict[str, float]) -> None:
        """Rows of one kind: `days_values` is a VALUES list of (day, count, first n)."""
        chat = ", ".join(f"'uc-{u}'" for u in shape.CHAT_USECASES)
        self.sql(f"""
            INSERT INTO chsync_demo.gen
            SELECT n, md5({self.seed} || ':' || n)::uuid, day, {self._usecase_case('r_uc', shares)},
                   'agent-' || lpad((1 + floor(r_agent * {shape.AGENTS}))::text, 4, '0'),
                   'agent-' || lpad((1 + (floor(r_agent * {shape.AGENTS})::int + 7) % {shape.AGENTS})::text, 4, '0'),
                   CASE WHEN {self._usecase_case('r_uc', shares)} IN ({chat}) THEN 'chat' ELSE 'voice' END,
                   ended - (60 + floor(r_len * 3540)) * interval '1 second', ended,
                   ended + floor(r_upd * 3600000) * interval '1 millisecond', '{kind}', false, day
            FROM (SELECT d.first_n + g AS n, d.day, random() AS r_uc,
                         random() AS r_agent, random() AS r_len, random() AS r_upd,
                         (d.day::timestamp AT TIME ZONE 'UTC') + floor(random() * 86400000) * interval '1 millisecond'
                           AS ended
                  FROM (VALUES {days_values}) AS d(day, k, first_n), generate_series(1, d.k) g) x""")

    def conversations(self) -> None:
        self.sql("SET max_parallel_workers_per_gather = 0")
        self.sql("SELECT setseed(%s)", ((self.seed * 2654435761 % 2_000_001) / 1_000_000 - 1,))
        self.sql("""CREATE UNLOGGED TABLE chsync_demo.gen (n bigint, id uuid, day date, usecase text, agent text,
                    agent_alt text, source_type text, started_at timestamptz, ended_at timestamptz,
                    updated_at timestamptz, kind text, dup boolean, new_day date)""")
        first, values = 0, []
        for day, k in self.days.items():
            values.append(f"('{day}'::date, {k}, {first})")
            first += k
        self.say(f"{first:,} conversations passing the filter over {len(self.days)} days")
        self._insert_gen(", ".join(values), "ok", shape.usecase_shares())

        stale_shares = {"reservations-chat": shape.STALE_RESERVATIONS_CHAT_SHARE}
        others = {u: s for u, s in shape.usecase_shares().items() if u != "reservations-chat"}
        stale_shares |= {u: s / sum(others.values()) * (1 - shape.STALE_RESERVATIONS_CHAT_SHARE)
                         for u, s in others.items()}
        for reason, k in shape.stale_counts(self.scale).items():
            per_day = shape.spread(k, self.days)
            values = []
            for day, n in per_day.items():
                if n:
                    values.append(f"('{day}'::date, {n}, {first})")
                    first += n
            if values:
                self._insert_gen(", ".join(values), f"stale:{reason}", stale_shares)
        self.sql(f"""UPDATE chsync_demo.gen SET new_day = CASE WHEN day + (1 + n % 3)::int <= '{shape.LAST}'
                     THEN day + (1 + n % 3)::int ELSE day - (1 + n % 3)::int END WHERE kind = 'stale:day_moved'""")
        self._pick("missing", "usecase = 'uc-chat'", shape.scaled(shape.MISSING_CHAT, self.scale), 11)
        self._pick("changed_usecase", "usecase <> 'uc-reservations-chat'",
                   shape.scaled(shape.CHANGED_USECASE, self.scale), 13)
        self._pick("changed_agent", "true", shape.scaled(shape.CHANGED_AGENT, self.scale), 17)
        dup_values = ", ".join(f"('{d}'::date, {k})" for d, k in self.dups.items())
        self.sql(f"""UPDATE chsync_demo.gen g SET dup = true FROM (
                       SELECT n, day, row_number() OVER (PARTITION BY day ORDER BY hashint8(n * 19 + {self.seed})) rn
                       FROM chsync_demo.gen WHERE kind = 'ok') x
                     JOIN (VALUES {dup_values}) AS d(day, k) ON d.day = x.day
                     WHERE g.n = x.n AND x.rn <= d.k""")
        self.say("drift chosen: stale, changed, missing, duplicates")

    def _pick(self, kind: str, where: str, k: int, salt: int) -> None:
        """Exactly k 'ok' rows matching `where`, chosen by a seeded hash, become `kind`."""
        self.sql(f"""UPDATE chsync_demo.gen SET kind = '{kind}' WHERE n IN (
                       SELECT n FROM chsync_demo.gen WHERE kind = 'ok' AND {where}
                       ORDER BY hashint8(n * {salt} + {self.seed}) LIMIT {k})""")

    def labels(self) -> None:
        vocab = "ARRAY[" + ", ".join(_q(v) for v in LABELS) + "]"
        self.sql(f"""CREATE UNLOGGED TABLE chsync_demo.gen_labels AS
                     SELECT g.id, v.label FROM chsync_demo.gen g CROSS JOIN unnest({vocab}) AS v(label)
                     WHERE random() < {LABEL_P}""")
        self.sql("CREATE INDEX ON chsync_demo.gen_labels (id)")
        self.sql("CREATE INDEX ON chsync_demo.gen (day)")

    def source_state(self) -> None:
        """Postgres as it is now: the drift kinds applied to the rows the cron once copied."""
        c = _q(self.customer)
        self.sql(f"""
            INSERT INTO conversations
            SELECT id,
                   CASE kind WHEN 'stale:customer_changed' THEN 'other-air-1' ELSE {c} END,
                   CASE kind WHEN 'stale:customer_changed' THEN 'p-other-1' ELSE {_q(PROFILE)} END,
                   usecase,
                   CASE WHEN kind = 'stale:dev_user' AND n % 5 = 0 THEN NULL
                        WHEN kind = 'stale:dev_user' THEN 'dev-' || lpad((1 + n % {shape.DEV_AGENTS})::text, 3, '0')
                        ELSE agent END,
                   CASE kind WHEN 'stale:source_type_changed' THEN 'email' ELSE source_type END,
                   started_at + (new_day - day) * interval '1 day',
                   CASE kind WHEN 'stale:ended_at_reset' THEN NULL ELSE ended_at + (new_day - day) * interval '1 day' END,
                   kind <> 'stale:no_agent_assistance', updated_at
            FROM chsync_demo.gen WHERE kind <> 'stale:deleted'""")
        self.sql("""INSERT INTO conversation_labels SELECT l.id, l.label FROM chsync_demo.gen_labels l
                    JOIN chsync_demo.gen g ON g.id = l.id WHERE g.kind <> 'stale:deleted'""")
        self.noise()

    def noise(self) -> None:
        """Rows that must never pass the filter: other customers, open, dev or no agent, other channels,
        no assistance, outside the range."""
        k = shape.scaled(sum(self.days.values()) * shape.NOISE_SHARE, 1.0)
        c = _q(self.customer)
        self.sql(f"""
            INSERT INTO conversations
            SELECT md5('noise:{self.seed}:' || g)::uuid,
                   CASE WHEN v = 0 THEN 'other-air-' || (1 + g % {len(OTHER_CUSTOMERS)}) ELSE {c} END,
                   CASE WHEN v = 0 THEN 'p-other-' || (1 + g % {shape.PROFILES - 1}) ELSE {_q(PROFILE)} END,
                   'uc-reservations',
                   CASE v WHEN 2 THEN 'dev-001' WHEN 3 THEN NULL ELSE 'agent-0001' END,
                   CASE v WHEN 4 THEN 'email' WHEN 5 THEN 'sms' ELSE 'voice' END,
                   t - interval '5 minutes', CASE v WHEN 1 THEN NULL ELSE t END, v <> 6, t
            FROM (SELECT g, g % 8 AS v,
                         CASE WHEN g % 8 = 7 THEN timestamptz '2025-11-01 00:00:00+00'  -- outside the range
                              ELSE timestamptz '{shape.FIRST} 00:00:00+00' END
                         + (g % 49) * interval '1 day' + (g * 7919 % 86400) * interval '1 second' AS t
                  FROM generate_series(1, {k}) g) x""")
        self.say(f"{k:,} noise conversations that must not pass the filter")

    # -- sink ----------------------------------------------------------------------------------
    def sink_rows_sql(self, precision: int, duplicates: bool) -> str:
        unit = "milliseconds" if precision == 3 else "second"
        c = _q(self.customer)
        agent = "agent_alt" if duplicates else "CASE WHEN kind = 'changed_agent' THEN agent_alt ELSE agent END"
        updated = "updated_at - interval '1 hour'" if duplicates else "updated_at"
        where = "dup" if duplicates else "kind <> 'missing'"
        return f"""SELECT g.id::text AS conversation_id, {c} AS customer_id, {_q(PROFILE)} AS profile_id,
                CASE WHEN kind = 'changed_usecase' THEN 'uc-reservations-chat' ELSE usecase END AS usecase_id,
                {agent} AS agent_user_id, source_type,
                date_trunc('{unit}', started_at) AS started_at, date_trunc('{unit}', ended_at) AS ended_at,
                ARRAY(SELECT l.label FROM chsync_demo.gen_labels l WHERE l.id = g.id
                      ORDER BY l.label COLLATE "C") AS labels,
                date_trunc('{unit}', {updated}) AS updated_at
            FROM chsync_demo.gen g WHERE g.day = $1 AND {where}"""

    def write_sink(self, dsn: str, sink: ClickHouseSink) -> int:
        import adbc_driver_postgresql.dbapi as adbc
        sink.init()
        sink.execute(f"TRUNCATE TABLE {sink.table}")
        precision = sink.capabilities.time_precision
        written = 0
        with adbc.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            for duplicates in (False, True):  # duplicates in separate inserts: chDB collapses them inside one
                sql = self.sink_rows_sql(precision, duplicates)
                for day in self.days:
                    cur.execute(sql, (day,))
                    rows = cur.fetch_arrow_table()
                    if rows.num_rows:
                        sink.insert_day(day, rows, token=f"demo-{self.seed}-{day}-{int(duplicates)}")
                        written += rows.num_rows
        self.say(f"{written:,} rows written to the sink as the old cron left them")
        return written

    # -- ground truth --------------------------------------------------------------------------
    def truth(self) -> dict:
        q = lambda sql: self.conn.execute(sql).fetchall()  # noqa: E731
        passing = "kind IN ('ok', 'missing', 'changed_usecase', 'changed_agent', 'stale:day_moved')"
        days = {d.isoformat(): {"source": 0, "sink_rows": 0, "sink_distinct": 0, "duplicates": 0,
                                "missing": 0, "stale": 0, "changed": 0} for d in self.days}
        for day, n in q(f"SELECT new_day, count(*) FROM chsync_demo.gen WHERE {passing} GROUP BY 1"):
            days[day.isoformat()]["source"] = n
        for day, rows, distinct, dups, missing, stale, changed in q("""
                SELECT day, count(*) FILTER (WHERE kind <> 'missing') + count(*) FILTER (WHERE dup),
                       count(*) FILTER (WHERE kind <> 'missing'), count(*) FILTER (WHERE dup),
                       count(*) FILTER (WHERE kind = 'missing'), count(*) FILTER (WHERE kind LIKE 'stale:%'),
                       count(*) FILTER (WHERE kind LIKE 'changed_%')
                FROM chsync_demo.gen GROUP BY 1"""):
            days[day.isoformat()].update(sink_rows=rows, sink_distinct=distinct, duplicates=dups,
                                         missing=missing, stale=stale, changed=changed)
        for day, n in q("SELECT new_day, count(*) FROM chsync_demo.gen WHERE kind = 'stale:day_moved' GROUP BY 1"):
            days[day.isoformat()]["missing"] += n
        kinds = dict(q("SELECT kind, count(*) FROM chsync_demo.gen GROUP BY 1"))
        reasons = {r: kinds.get(f"stale:{r}", 0) for r in shape.STALE}
        names = lambda col, where: {name[3:]: n for name, n in q(  # noqa: E731
            f"SELECT {col}, count(*) FROM chsync_demo.gen WHERE {where} GROUP BY 1")}
        sink_uc = names("CASE WHEN kind = 'changed_usecase' THEN 'uc-reservations-chat' ELSE usecase END",
                        "kind <> 'missing'")
        totals = {k: sum(d[k] for d in days.values()) for k in next(iter(days.values()))}
        return {"scale": self.scale, "seed": self.seed, "customer": self.customer, "days": days,
                "stale_reasons": reasons,
                "changed_columns": {"usecase_id": kinds.get("changed_usecase", 0),
                                    "agent_user_id": kinds.get("changed_agent", 0)},
                "usecases": {"source": names("usecase", passing), "sink": sink_uc},
                "totals": totals}


MARK = "chsync demo data"


def _refuse_real_data(conn) -> None:
    """The generator drops the source tables: only ever those it made itself."""
    found = conn.execute("SELECT to_regclass('conversations') IS NOT NULL, "
                         "coalesce(obj_description(to_regclass('conversations'), 'pg_class'), '')").fetchone()
    if found[0] and found[1] != MARK:
        raise Refused("the source already has a conversations table that chsync did not generate: "
                      "refusing to replace it (use an empty database, e.g. `chsync embedded up`)")


def generate(source_dsn: str, sink: ClickHouseSink, *, scale: float = 1.0, seed: int = 1,
             customer: str = "alaska-air", progress=None, truth_path: str | Path | None = None) -> dict:
    """(Re)create the source tables and a drifted sink; returns the ground truth."""
    with psycopg.connect(source_dsn, autocommit=True, options="-c TimeZone=UTC") as conn:
        _refuse_real_data(conn)
        gen = Generator(conn, scale, seed, customer, progress)
        conn.execute("DROP SCHEMA IF EXISTS chsync_demo CASCADE; CREATE SCHEMA chsync_demo")
        schema.create(conn, constraints=False)
        gen.reference_data()
        gen.conversations()
        gen.labels()
        gen.source_state()
        schema.add_constraints(conn)
        conn.execute(f"COMMENT ON TABLE conversations IS {_q(MARK)}")
        conn.execute("ANALYZE")
        gen.say("Postgres loaded, constraints added")
        gen.write_sink(source_dsn, sink)
        truth = gen.truth()
        conn.execute("DROP SCHEMA chsync_demo CASCADE")
    if truth_path:
        Path(truth_path).write_text(json.dumps(truth, indent=2))
    return truth
