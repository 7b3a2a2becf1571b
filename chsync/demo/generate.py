"""Seed-shaped data (the seed's figures, scaled): a Postgres source and a drifted ClickHouse sink, plus the
ground truth.

How it works, and why it is fast and reproducible:
- `shape.plan(scale)` fixes, per day, how many conversations of each drift kind exist. The generator
  writes that plan into a bookkeeping table `chsync_demo.segments` (group, kind, day, new day, count,
  first row number): the drift kind of every conversation is known from it.
- A view `chsync_demo.rows` expands the segments with generate_series; every value of a row is a pure
  function of (seed, row number): ids are version-4 UUIDs built from two hashint8extended(n, seed salt),
  the other draws likewise, and usecases follow a low-discrepancy (golden-ratio) sequence per group so
  the mix is the seed's at every scale. No random(), no dependence on scan order or parallelism.
- The sink is written from the view alone, so it is written in a background thread while Postgres loads
  (a core each on the 2-core machine it was measured on); at scale 1 the whole run takes about 18 s on an
  idle machine.
- Postgres gets the rows' CURRENT state (the drift applied: dev agent, ended_at NULL, email, ...) in one
  INSERT…SELECT per table, constraints after the load. The sink gets the rows AS THE OLD CRON SAW THEM,
  read per day from the same view (with the expressions of `PostgresSource.read_day`: NULL → '', labels
  sorted in byte order, times truncated to the sink's precision) and inserted per day; each day's
  duplicates (an older row of the same conversation) go in a separate INSERT, because chDB collapses
  duplicates inside one.
- The ground truth is counted from the bookkeeping (segments, and the view for usecases), never with
  chsync's own queries, and checked against the plan.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from ..errors import BadInput, Refused, RuntimeFailure
from ..progress import StepProgress
from ..schemas import tagged
from ..secrets import redact_url
from ..sink.base import ClickHouseSink
from ..spec import validate_customer
from . import schema, shape

# Label vocabulary: a couple with unicode, quotes and commas (they must survive both sides unchanged).
LABELS = ["baggage", "refund", "upgrade", "delay", "loyalty", "seat", "pet", "wheelchair", "café", "o'brien",
          "a,b", 'say "hi"', "über"]
LABEL_COUNT_P = (0.30, 0.40, 0.20, 0.10)  # P(0), P(1), P(2), P(3 labels)
OTHER_CUSTOMERS = [f"other-air-{i}" for i in range(1, shape.CUSTOMERS)]
MARK = "chsync demo data"
PHI = 0.6180339887498949  # golden ratio conjugate: idx * PHI mod 1 is evenly spread for any run of idx

# Kinds of the conversations of the customer (bookkeeping), by group.
GROUPS = {"ordinary": ("duplicate", "changed_agent", "ok"), "changed": ("changed_usecase",),
          "missing": ("missing",), "stale": tuple(f"stale:{r}" for r in shape.STALE_REASONS), "noise": ("noise",)}
PASSING = ("ok", "duplicate", "changed_agent", "changed_usecase", "missing", "stale:day_moved")


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def profile_of(customer: str) -> str:
    return f"p-{customer}-main"


def label_combos() -> list[list[str]]:
    """Every set of 0-3 distinct labels, each sorted in byte order (as Postgres COLLATE "C" sorts)."""
    combos = []
    for k in range(4):
        for combo in itertools.combinations(LABELS, k):
            combos.append(sorted(combo, key=lambda s: s.encode()))
    return combos


POSTGRES_STEPS = 3   # the progress bar's steps besides one per sink day (see generate())


class Generator:
    def __init__(self, conn: psycopg.Connection, scale: float, seed: int, customer: str,
                 progress: Callable[[str], None] | None) -> None:
        self.conn, self.scale, self.seed, self.customer = conn, scale, seed, customer
        self.say = progress or (lambda message: None)
        self.tick = lambda message: None   # advances the progress bar (set by generate())
        self.plan = shape.plan(scale)
        self.profile = profile_of(customer)

    def sql(self, statement: str, params: Sequence[Any] | None = None) -> None:
        self.conn.execute(statement, params)

    # -- deterministic draws -------------------------------------------------------------------
    def u(self, salt: int, n: str = "n") -> str:
        """A uniform draw in [0, 1) from (seed, row number, salt): 53 bits of hashint8extended."""
        return (f"(((hashint8extended({n}, {self.seed * 1000 + salt}) >> 11) & 9007199254740991)::float8 "
                f"/ 9007199254740992.0)")

    def _offset(self, group: str) -> float:
        i = list(GROUPS).index(group)
        x = self.seed * 0.7548776662466927 + i * 0.5698402909980532
        return x - int(x) if x >= 0 else x - int(x) + 1

    def _mix(self, group: str) -> tuple[list[float], list[str | None]]:
        """(lower bounds, usecase ids) of the group's usecase mix, for width_bucket: a row whose
        w mod 1 (w = the group's offset + index × PHI, a low-discrepancy sequence) falls in bucket i
        gets usecase i, so every run of rows has the mix up to ±1 per usecase."""
        mix = self.plan.shares["ordinary" if group == "noise" else group]
        bounds = list(itertools.accumulate(mix.values(), initial=0.0))[:-1]
        return bounds, [None if name is None else f"uc-{name}" for name in mix]

    # -- bookkeeping ---------------------------------------------------------------------------
    def segments(self) -> None:
        """One row per (group, kind, day): how many conversations, their row numbers and group indexes."""
        self.sql("""CREATE UNLOGGED TABLE chsync_demo.segments (grp text, kind text, day date, new_day date,
                    k int, first_n bigint, first_idx bigint, w0 float8, cuts float8[], usecases text[])""")
        rows, n, idx = [], 0, dict.fromkeys(GROUPS, 0)

        def add(group: str, kind: str, day: dt.date, k: int, new_day: dt.date | None = None) -> None:
            nonlocal n
            if k:
                rows.append((group, kind, day, new_day or day, k, n, idx[group], self._offset(group),
                             *self._mix(group)))
                n += k
                idx[group] += k

        for d in self.plan.days:
            add("ordinary", "duplicate", d.day, d.duplicates)
            add("ordinary", "changed_agent", d.day, d.changed_agent)
            add("ordinary", "ok", d.day, d.ok)
            add("changed", "changed_usecase", d.day, d.changed_usecase)
            add("missing", "missing", d.day, d.missing_chat)
            for reason in shape.STALE_REASONS:
                add("stale", f"stale:{reason}", d.day, d.stale[reason],
                    shape.moved_to(d.day) if reason == "day_moved" else None)
            add("noise", "noise", d.day, self.plan.noise[d.day])
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO chsync_demo.segments VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
        self.sql("CREATE UNLOGGED TABLE chsync_demo.combos (id int PRIMARY KEY, labels text[] NOT NULL)")
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO chsync_demo.combos VALUES (%s, %s)", list(enumerate(label_combos())))
        self.say(f"plan: {n:,} conversations in {len(rows)} segments (day × drift kind)")

    def view(self) -> None:
        """chsync_demo.rows: every conversation as the old cron saw it, plus the draws its drift uses.
        The per-segment LATERAL query (OFFSET 0: not flattened into the outer one) computes each draw
        once per row; a filter on the segment's day reaches the segments scan, so a day costs a day."""
        u, day0 = self.u, f"timestamptz '{shape.FIRST} 00:00:00+00'"
        sizes = [1, len(LABELS), len(LABELS) * (len(LABELS) - 1) // 2,
                 len(LABELS) * (len(LABELS) - 1) * (len(LABELS) - 2) // 6]
        offsets = [sum(sizes[:k]) for k in range(4)]
        cum = list(itertools.accumulate(LABEL_COUNT_P))
        combo = (f"CASE WHEN r_nlabels < {cum[0]} THEN 0 "
                 f"WHEN r_nlabels < {cum[1]} THEN {offsets[1]} + floor(r_label * {sizes[1]})::int "
                 f"WHEN r_nlabels < {cum[2]} THEN {offsets[2]} + floor(r_label * {sizes[2]})::int "
                 f"ELSE {offsets[3]} + floor(r_label * {sizes[3]})::int END")
        agents = shape.AGENTS
        # A version-4 UUID from two 64-bit hashes of (seed, n).
        uuid = (f"encode(int8send((hashint8extended(n, {self.seed * 1000 + 20}) & ~61440) | 16384) || "
                f"int8send((hashint8extended(n, {self.seed * 1000 + 21}) & 4611686018427387903) "
                f"| (-9223372036854775807 - 1)), 'hex')::uuid")
        self.sql(f"""
            CREATE VIEW chsync_demo.rows AS
            SELECT s.grp, s.kind, s.day, s.new_day, n, {uuid} AS id, usecase,
                   CASE WHEN usecase IN ('uc-reservations-chat', 'uc-chat') THEN 'chat' ELSE 'voice' END
                     AS source_type,
                   'agent-' || lpad((1 + a)::text, 4, '0') AS agent,
                   'agent-' || lpad((1 + (a + 1 + b) % {agents})::text, 4, '0') AS agent_alt,
                   CASE WHEN r_dev < 0.2 THEN NULL
                        ELSE 'dev-' || lpad((1 + floor(r_dev2 * {shape.DEV_AGENTS}))::text, 3, '0') END AS dev_agent,
                   1 + floor(r_other * {len(OTHER_CUSTOMERS)})::int AS other,
                   floor(r_noise * 10)::int AS noise_variant,
                   ended_at - dur_ms * interval '1 millisecond' AS started_at, ended_at,
                   ended_at + upd_ms * interval '1 millisecond' AS updated_at,
                   ended_at + (upd_ms / 2) * interval '1 millisecond' AS older_updated_at,
                   {combo} AS combo, r_boundary < 0.05 AS boundary, r_time
            FROM chsync_demo.segments s CROSS JOIN LATERAL (
              SELECT n, s.usecases[width_bucket(w - floor(w), s.cuts)] AS usecase,
                     floor({u(1)} * {agents})::int AS a, floor({u(2)} * {agents - 1})::int AS b,
                     {day0} + ((s.day - date '{shape.FIRST}') * 86400000::bigint
                               + floor({u(3)} * 86400000)::bigint) * interval '1 millisecond' AS ended_at,
                     30000 + floor({u(4)} * 3570000)::bigint AS dur_ms,
                     1000 + floor({u(5)} * 3599000)::bigint AS upd_ms,
                     {u(6)} AS r_nlabels, {u(7)} AS r_label, {u(8)} AS r_dev, {u(9)} AS r_dev2,
                     {u(10)} AS r_other, {u(11)} AS r_noise, {u(12)} AS r_boundary, {u(13)} AS r_time
              FROM (SELECT s.first_n + g AS n, s.w0 + (s.first_idx + g) * {PHI!r} AS w
                    FROM generate_series(0, s.k - 1) g) x
              OFFSET 0) y""")

    # -- Postgres ------------------------------------------------------------------------------
    def reference_data(self) -> None:
        c = _q(self.customer)
        self.sql(f"INSERT INTO customers VALUES ({c}, {_q(self.customer.replace('-', ' ').title())})")
        self.sql("INSERT INTO customers SELECT unnest(%s::text[]), 'Other Air ' || generate_series(1, %s)",
                 (OTHER_CUSTOMERS, len(OTHER_CUSTOMERS)))
        self.sql(f"INSERT INTO profiles VALUES ({_q(self.profile)}, {c}, 'main')")
        # p-other-G belongs to other-air-(1 + (G-1) % 9): p-other-J (J <= 9) is other-air-J's.
        others = len(OTHER_CUSTOMERS)
        self.sql(f"""INSERT INTO profiles SELECT 'p-other-' || g, 'other-air-' || (1 + (g - 1) % {others}),
                     'profile ' || g FROM generate_series(1, {shape.PROFILES - 1}) g""")
        self.sql(f"""INSERT INTO users SELECT 'agent-' || lpad(g::text, 4, '0'), {c}, false
                     FROM generate_series(1, {shape.AGENTS}) g""")
        self.sql(f"""INSERT INTO users SELECT 'dev-' || lpad(g::text, 3, '0'), {c}, true
                     FROM generate_series(1, {shape.DEV_AGENTS}) g""")
        self.sql(f"""INSERT INTO users SELECT 'other-agent-' || g, 'other-air-' || (1 + (g - 1) % {others}),
                     false FROM generate_series(1, {shape.OTHER_AGENTS}) g""")
        for name in shape.USECASES:
            self.sql(f"INSERT INTO usecases VALUES (%s, {c}, %s)", (f"uc-{name}", name))
        self.sql("INSERT INTO usecases SELECT 'uc-' || o || '-support', o, 'support' FROM unnest(%s::text[]) o",
                 (OTHER_CUSTOMERS,))

    def conversations(self) -> None:
        """Postgres as it is now: the old cron's rows with the drift applied, then the noise."""
        c, p = _q(self.customer), _q(self.profile)
        shift = "(new_day - day) * interval '1 day'"
        self.sql(f"""
            INSERT INTO conversations (id, customer_id, profile_id, usecase_id, agent_user_id, source_type,
                                       started_at, ended_at, has_agent_assistance, updated_at)
            SELECT id,
                   CASE kind WHEN 'stale:customer_changed' THEN 'other-air-' || other ELSE {c} END,
                   CASE kind WHEN 'stale:customer_changed' THEN 'p-other-' || other ELSE {p} END,
                   usecase,
                   CASE kind WHEN 'stale:dev_user' THEN dev_agent ELSE agent END,
                   CASE kind WHEN 'stale:source_type_changed' THEN 'email' ELSE source_type END,
                   started_at + {shift},
                   CASE kind WHEN 'stale:ended_at_reset' THEN NULL ELSE ended_at + {shift} END,
                   kind <> 'stale:no_agent_assistance',
                   CASE WHEN kind LIKE 'stale:%' THEN updated_at + greatest({shift}, interval '0') + interval '1 day'
                        ELSE updated_at END
            FROM chsync_demo.rows WHERE grp <> 'noise' AND kind <> 'stale:deleted'""")
        self.say("Postgres: the customer's conversations in their current state")
        # Noise: each fails exactly one part of the seed's filter.
        first, after = f"timestamptz '{shape.FIRST} 00:00:00+00'", \
            f"timestamptz '{shape.LAST + dt.timedelta(days=1)} 00:00:00+00'"
        ended = f"""CASE noise_variant
                      WHEN 1 THEN NULL
                      WHEN 7 THEN {first} - CASE WHEN boundary THEN interval '1 millisecond'
                                  ELSE (1 + floor(r_time * 61 * 86400000)::bigint) * interval '1 millisecond' END
                      WHEN 8 THEN {after} + CASE WHEN boundary THEN interval '0'
                                  ELSE floor(r_time * 30 * 86400000)::bigint * interval '1 millisecond' END
                      ELSE ended_at END"""
        self.sql(f"""
            INSERT INTO conversations (id, customer_id, profile_id, usecase_id, agent_user_id, source_type,
                                       started_at, ended_at, has_agent_assistance, updated_at)
            SELECT id,
                   CASE noise_variant WHEN 0 THEN 'other-air-' || other ELSE {c} END,
                   CASE noise_variant WHEN 0 THEN 'p-other-' || (other + {len(OTHER_CUSTOMERS)} * (n % 9))
                                      WHEN 9 THEN 'p-other-' || (1 + n % {shape.PROFILES - 1}) ELSE {p} END,
                   CASE noise_variant WHEN 0 THEN 'uc-other-air-' || other || '-support' ELSE usecase END,
                   CASE noise_variant WHEN 0 THEN 'other-agent-' || (other + {len(OTHER_CUSTOMERS)} * (n % 20))
                                      WHEN 2 THEN coalesce(dev_agent, 'dev-001') WHEN 3 THEN NULL ELSE agent END,
                   CASE noise_variant WHEN 4 THEN 'email' WHEN 5 THEN (ARRAY['sms', 'api'])[1 + n % 2]
                                      ELSE source_type END,
                   coalesce(e, ended_at) - (ended_at - started_at),
                   e, noise_variant <> 6, coalesce(e, ended_at) + (updated_at - ended_at)
            FROM (SELECT *, {ended} AS e FROM chsync_demo.rows WHERE grp = 'noise') x""")
        self.sql("""INSERT INTO conversation_labels
                    SELECT r.id, l.label FROM chsync_demo.rows r JOIN chsync_demo.combos c ON c.id = r.combo
                    CROSS JOIN LATERAL unnest(c.labels) AS l(label) WHERE r.kind <> 'stale:deleted'""")
        self.say(f"Postgres: {sum(self.plan.noise.values()):,} noise conversations that must not pass the filter, "
                 "and the labels")

    # -- sink ----------------------------------------------------------------------------------
    def sink_rows_sql(self, precision: int, older: bool) -> str:
        """A day of sink rows as the old cron wrote them (the expressions of PostgresSource.read_day).
        `older`: the duplicates' extra rows (older updated_at, another agent)."""
        unit = "milliseconds" if precision == 3 else "second"
        agent = "agent_alt" if older else "CASE kind WHEN 'changed_agent' THEN agent_alt ELSE agent END"
        updated = "older_updated_at" if older else "updated_at"
        where = "kind = 'duplicate'" if older else "grp <> 'noise' AND kind <> 'missing'"
        return f"""SELECT r.id::text AS conversation_id, {_q(self.customer)} AS customer_id,
                       {_q(self.profile)} AS profile_id,
                       CASE kind WHEN 'changed_usecase' THEN 'uc-reservations-chat' ELSE coalesce(usecase, '') END
                         AS usecase_id,
                       coalesce({agent}, '') AS agent_user_id, source_type,
                       date_trunc('{unit}', started_at) AS started_at, date_trunc('{unit}', ended_at) AS ended_at,
                       c.labels AS labels, date_trunc('{unit}', {updated}) AS updated_at
                FROM chsync_demo.rows r JOIN chsync_demo.combos c ON c.id = r.combo
                WHERE r.day = $1 AND {where}"""

    def write_sink(self, dsn: str, sink: ClickHouseSink) -> int:
        import adbc_driver_postgresql.dbapi as adbc
        sink.init()
        sink.truncate()
        precision = sink.capabilities.time_precision
        rows_sql, older_sql = self.sink_rows_sql(precision, False), self.sink_rows_sql(precision, True)
        written = 0
        with adbc.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            cur.execute("SET jit = off")  # compiling each day's query costs more than it saves
            for d in self.plan.days:
                # The older rows first (the cron wrote them first), in their own INSERT: chDB collapses
                # duplicates inside one INSERT.
                for older, sql in ((True, older_sql), (False, rows_sql)):
                    if older and not d.duplicates:
                        continue
                    cur.execute(sql, (d.day,))
                    data = cur.fetch_arrow_table()
                    if data.num_rows:
                        sink.insert_day(d.day, data, token=f"demo-{self.seed}-{d.day}-{int(older)}")
                        written += data.num_rows
                self.tick(f"sink {d.day}")
        self.say(f"sink: {written:,} rows written as the old cron left them")
        return written

    # -- ground truth --------------------------------------------------------------------------
    def usecase_truth(self, dsn: str) -> dict:
        """{"source": {usecase name: conversations passing now}, "sink": {name: distinct in the sink}},
        counted over the bookkeeping view ('' = no usecase). Own connection: it runs in the background."""
        def name(usecase: str | None) -> str:
            return "" if usecase is None else usecase[3:]

        source: dict[str, int] = {}
        sink: dict[str, int] = {}
        with psycopg.connect(dsn, autocommit=True, options="-c TimeZone=UTC -c jit=off") as conn:
            rows = conn.execute("SELECT kind, usecase, count(*) FROM chsync_demo.rows WHERE grp <> 'noise' "
                                "GROUP BY 1, 2").fetchall()
        for kind, usecase, n in rows:
            if kind in PASSING:
                source[name(usecase)] = source.get(name(usecase), 0) + n
            if kind != "missing":
                sink_name = "reservations-chat" if kind == "changed_usecase" else name(usecase)
                sink[sink_name] = sink.get(sink_name, 0) + n
        return {side: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
                for side, counts in (("source", source), ("sink", sink))}

    def truth(self, breakdown: dict) -> dict:
        q = lambda sql: self.conn.execute(sql).fetchall()
        days = {d.day.isoformat(): dict.fromkeys(("source", "sink_rows", "sink_distinct", "duplicates", "missing",
                                                  "stale", "changed"), 0) for d in self.plan.days}
        kinds: dict[str, int] = {}
        for kind, day, new_day, k in q("SELECT kind, day, new_day, sum(k)::bigint FROM chsync_demo.segments "
                                       "WHERE grp <> 'noise' GROUP BY 1, 2, 3"):
            row, moved_to = days[day.isoformat()], days[new_day.isoformat()]
            kinds[kind] = kinds.get(kind, 0) + k
            if kind in PASSING:
                moved_to["source"] += k
            if kind != "missing":
                row["sink_distinct"] += k
            if kind == "duplicate":
                row["duplicates"] += k
            if kind == "missing":
                row["missing"] += k
            if kind == "stale:day_moved":
                moved_to["missing"] += k
            if kind.startswith("stale:"):
                row["stale"] += k
            if kind.startswith("changed_"):
                row["changed"] += k
        for row in days.values():
            row["sink_rows"] = row["sink_distinct"] + row["duplicates"]

        totals = {k: sum(d[k] for d in days.values()) for k in next(iter(days.values()))}
        noise = sum(self.plan.noise.values())
        (labels,), = q("SELECT count(*) FROM conversation_labels")
        # Neutral keys (the generate document's schema): the base table's rows, its child table's (labels),
        # the [tenant] units (profiles), the breakdown's values (usecases).
        return tagged("generate", {
            "scale": self.scale, "seed": self.seed, "customer": self.customer, "days": days,
            "stale_reasons": {r: kinds.get(f"stale:{r}", 0) for r in shape.STALE_REASONS},
            "changed_columns": {"usecase_id": kinds.get("changed_usecase", 0),
                                "agent_user_id": kinds.get("changed_agent", 0)},
            "breakdown": breakdown,
            "totals": totals,
            "postgres": {"rows": sum(kinds.values()) - kinds.get("stale:deleted", 0) + noise,
                         "noise": noise, "child_rows": labels, "customers": shape.CUSTOMERS,
                         "units": shape.PROFILES, "units_matched": 1}})

    def check(self, truth: dict) -> None:
        """The bookkeeping agrees with the plan (a generator bug would otherwise hide in the demo)."""
        for d in self.plan.days:
            if truth["days"][d.day.isoformat()] != d.expected:
                raise RuntimeFailure(f"generator bug: {d.day} came out {truth['days'][d.day.isoformat()]}, "
                                     f"planned {d.expected}")


class _Background:
    """Run `fn` in a thread for the duration of a `with` block; `result()` re-raises its error.
    Leaving the block always waits for the thread (it uses the caller's sink)."""
    _error: BaseException | None
    _value: Any

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn, self._error, self._value = fn, None, None
        self._thread = threading.Thread(target=self._run, name="chsync-generate-sink", daemon=True)

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as e:
            self._error = e

    def __enter__(self) -> _Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


def _refuse_real_data(conn: Any) -> None:
    """The generator drops the source tables: only ever those it made itself."""
    found = conn.execute("SELECT to_regclass('conversations') IS NOT NULL, "
                         "coalesce(obj_description(to_regclass('conversations'), 'pg_class'), '')").fetchone()
    if found[0] and found[1] != MARK:
        raise Refused("the source already has a conversations table that chsync did not generate: "
                      "refusing to replace it (use an empty database, e.g. `chsync embedded up`)")


def generate(source_dsn: str, sink: ClickHouseSink, *, scale: float = 1.0, seed: int = 1,
             customer: str = "alaska-air", progress: Callable[[str], None] | None = None,
             truth_path: str | Path | None = None) -> dict:
    """(Re)create the seed's source tables (schema.py) and a drifted sink; returns the ground truth
    (also written as JSON to `truth_path` when given). `progress(message)` receives log lines."""
    try:
        shape.check_scale(scale)
        shape.plan(scale)
    except ValueError as e:
        raise BadInput(str(e)) from None
    if not isinstance(seed, int) or isinstance(seed, bool) or abs(seed) >= 10 ** 12:
        raise BadInput(f"seed must be an integer below 10^12 in size, got {seed!r}")
    validate_customer(customer)
    if customer in OTHER_CUSTOMERS:
        raise BadInput(f"customer {customer!r} is a name the generator uses for the other customers: pick another")
    try:
        with psycopg.connect(source_dsn, autocommit=True, options="-c TimeZone=UTC") as conn, \
                StepProgress(len(shape.DAYS) + POSTGRES_STEPS, "generate") as bar:
            _refuse_real_data(conn)
            conn.execute("SET max_parallel_workers_per_gather = 0")  # not needed for determinism; steadier
            conn.execute("SET maintenance_work_mem = '256MB'")
            conn.execute("SET work_mem = '64MB'")
            conn.execute("SET jit = off")
            gen = Generator(conn, float(scale), seed, customer, progress)
            gen.tick = bar.advance
            conn.execute("DROP SCHEMA IF EXISTS chsync_demo CASCADE")
            conn.execute("CREATE SCHEMA chsync_demo")
            schema.create(conn, constraints=False)
            conn.execute(f"COMMENT ON TABLE conversations IS {_q(MARK)}")
            gen.reference_data()
            gen.segments()
            gen.view()
            # The sink is written from the view alone: it runs while Postgres loads (2 cores, 2 jobs).
            with _Background(lambda: (gen.write_sink(source_dsn, sink), gen.usecase_truth(source_dsn))) as job:
                gen.conversations()
                bar.advance("Postgres: conversations and labels")
                schema.add_constraints(conn)
                conn.execute("ANALYZE customers, profiles, users, usecases, conversations, conversation_labels")
                gen.say("Postgres: constraints and indexes added")
                bar.advance("Postgres: constraints and indexes")
            _, breakdown = job.result()
            sink.wait_for_replicas()   # what the truth says, every replica says
            truth = gen.truth(breakdown)
            gen.check(truth)
            bar.advance("ground truth counted and checked")
            conn.execute("DROP SCHEMA chsync_demo CASCADE")
    except psycopg.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RuntimeFailure(f"generating into Postgres at {redact_url(source_dsn)} failed: {first}") from None
    if truth_path:
        Path(truth_path).write_text(json.dumps(truth, indent=2))
    return truth
