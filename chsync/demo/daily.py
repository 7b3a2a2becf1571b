"""Act 2 of `chsync demo`: the daily job that heals itself. After the repair a week passes on the embedded
Postgres, one day at a time:

1. The day's conversations arrive: the customer's of the same weekday a week before, seven days later,
   with new ids (so each new day has the seed's shape: its usecases, the customer's own noise). One in
   NEW_AGENT_EVERY of those that pass the filter goes to an agent who starts that day.
2. Postgres goes on changing conversations of earlier days, the ways the seed's drift began (SCRIPT says
   which on each day): an agent who started earlier in the week is flagged as a dev user (their
   conversations no longer pass the filter), conversations are re-opened (ended_at back to NULL), get a
   label (their updated_at does not move: a job that copies rows by updated_at never sees it), or are
   deleted. Besides one old day, only days inside the job's lookback change, so each is the job's to find.
3. The daily job runs as cron would run it: `chsync sync --day D --lookback 7 --sweep 1` (run_sync with D
   to sync, the week before it to check, and the SWEEP days of the history proven longest ago). One change
   (`old_labels`, night 2) falls weeks before the lookback, on the day the sweep checks first that night.

Each run must find drifted exactly the days changed before it, and heal them (a run's `as_expected`); a
verify of the whole range, the generated days and the new ones, ends the act. The days to change are
drawn from the seed, the conversations picked by a hash of their ids: the same seed, the same week.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import psycopg

from .. import log
from ..apply.sync import SyncRequest, SyncResult, run_sync
from ..report.daily import DailyJob, DailyRun, RangeVerdict
from ..scope import build_scope
from ..sink.base import ClickHouseSink
from ..source.postgres import PostgresSource
from ..timeline import Timeline
from . import shape

LOOKBACK = 7
# and the day of the history proven longest ago: one, since act 2 has a budget (bench/bench_demo_acts.py);
# every one of the 56 days is still proven again within ⌈56 / SWEEP⌉ nights
SWEEP = 1
TEMPLATE = dt.timedelta(days=7)          # a new day is a copy of the same weekday a week before
# The drift of each simulated day, in order (one day with none: a quiet night costs only the check).
SCRIPT: tuple[tuple[str, ...], ...] = (
    ("ended_at_reset", "labels"),
    ("dev_user", "deleted", "old_labels"),
    (),
    ("labels", "ended_at_reset", "deleted"),
    ("dev_user", "labels"),
    ("deleted",),
    ("ended_at_reset", "dev_user"),
)
DAYS = len(SCRIPT)
ROWS_AT_SCALE_1 = {"ended_at_reset": 40, "labels": 60, "deleted": 20}   # conversations a change touches
NEW_AGENT_EVERY = 150
LABEL = "escalated"                     # not in the generator's vocabulary: adding it always changes a row
NOON = dt.time(12, tzinfo=dt.UTC)       # when, on a simulated day, Postgres changes rows

# The seed's filter, as the demo's own SQL (chsync's is in the spec): a conversation in the sink's day.
PASSING = """FROM conversations c JOIN profiles p ON p.id = c.profile_id JOIN users u ON u.id = c.agent_user_id
             WHERE c.customer_id = %(customer)s AND p.customer_id = %(customer)s
               AND c.source_type IN ('voice', 'chat') AND c.has_agent_assistance AND NOT u.is_dev_user
               AND c.ended_at >= %(day)s::date AND c.ended_at < %(day)s::date + 1"""
# The customer's conversations of a day (all of them: those that pass and its own noise), by the index on
# (customer_id, ended_at).
TEMPLATE_DAY = "c.customer_id = %(customer)s AND c.ended_at >= %(day)s::date AND c.ended_at < %(day)s::date + 1"
NEW_COLUMNS = ("id, customer_id, profile_id, usecase_id, agent_user_id, source_type, started_at, ended_at, "
               "has_agent_assistance, updated_at")


def conversations(n: int) -> str:
    return f"{n:,} conversation" + ("" if n == 1 else "s")


@dataclasses.dataclass
class Change:
    kind: str            # ended_at_reset, labels, deleted, dev_user
    day: dt.date
    rows: int
    what: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "day": self.day.isoformat(), "rows": self.rows, "what": self.what}


class Week:
    """The simulated days after the generated range, and what Postgres does on each."""

    def __init__(self, conn: psycopg.Connection, *, scale: float, seed: int, customer: str):
        self.conn, self.scale, self.seed, self.customer = conn, scale, seed, customer
        self.agents: dict[str, dt.date] = {}      # agents who started this week -> their first day
        self.flagged: set[str] = set()

    def day(self, run: int) -> dt.date:
        return shape.LAST + dt.timedelta(days=run)

    def _ids(self, day: dt.date, salt: str, limit: int, extra: str = "") -> list:
        """`limit` conversations of `day` that pass the filter, picked by a hash of their id."""
        return [r[0] for r in self.conn.execute(
            f"SELECT c.id {PASSING} {extra} ORDER BY md5(c.id::text || %(salt)s) LIMIT %(limit)s",
            {"customer": self.customer, "day": day, "salt": f"{self.seed}:{salt}", "limit": limit})]

    def arrive(self, run: int) -> tuple[int, str, int]:
        """The new day's conversations and labels; returns (conversations, the new agent, theirs)."""
        day, template = self.day(run), self.day(run) - TEMPLATE
        agent = f"agent-{shape.AGENTS + run:04d}"
        params = {"customer": self.customer, "day": template, "new_day": day.isoformat(), "agent": agent}
        with self.conn.transaction():
            self.conn.execute("INSERT INTO users (id, customer_id, is_dev_user) VALUES (%(agent)s, %(customer)s, "
                              "false)", params)
            (passing,), = self.conn.execute(f"SELECT count(*) {PASSING}", params).fetchall()
            takes = self._ids(template, f"agent-{run}", max(1, passing // NEW_AGENT_EVERY))
            new_id = "md5(c.id::text || ':' || %(new_day)s)::uuid"
            arrived = self.conn.execute(
                f"""INSERT INTO conversations ({NEW_COLUMNS})
                    SELECT {new_id}, c.customer_id, c.profile_id, c.usecase_id,
                           CASE WHEN c.id = ANY(%(takes)s) THEN %(agent)s ELSE c.agent_user_id END, c.source_type,
                           c.started_at + interval '7 days', c.ended_at + interval '7 days',
                           c.has_agent_assistance, c.updated_at + interval '7 days'
                    FROM conversations c WHERE {TEMPLATE_DAY}""", params | {"takes": takes}).rowcount
            # OFFSET 0 keeps the labels a probe of their key per conversation; joined plainly, Postgres scans
            # all of them (2.3M at scale 1) for the day's 37K: 0.38 s against 0.2 s a night. The copies'
            # conversations were inserted just above: their foreign-key checks, one probe per label, cost
            # 0.2 s a night, so this transaction skips them (the demo's Postgres user is a superuser).
            self.conn.execute("SET LOCAL session_replication_role = replica")
            self.conn.execute(
                f"""INSERT INTO conversation_labels (conversation_id, label)
                    SELECT {new_id}, l.label FROM conversations c
                    CROSS JOIN LATERAL (SELECT l.label FROM conversation_labels l WHERE l.conversation_id = c.id
                                        OFFSET 0) AS l
                    WHERE {TEMPLATE_DAY}""", params)
        self.agents[agent] = day
        return arrived, agent, len(takes)

    def change(self, run: int, kinds: tuple[str, ...], old_day: dt.date | None = None) -> list[Change]:
        """Postgres changes conversations of earlier days, one day per kind, inside the job's lookback;
        `old_labels` labels conversations of `old_day`, weeks before it."""
        today = self.day(run)
        rng = random.Random(f"chsync demo act 2: seed {self.seed}, day {run}")
        window = [today - dt.timedelta(days=n) for n in range(LOOKBACK, 0, -1)]
        used: set[dt.date] = set()
        changes = []
        now = dt.datetime.combine(today, NOON)
        with self.conn.transaction():
            for kind in sorted(kinds, key=lambda k: k != "dev_user"):   # the agent's day first, then the others
                if kind == "dev_user":
                    agent = rng.choice(sorted(a for a, day in self.agents.items()
                                              if a not in self.flagged and day in window))
                    changes.append(self._flag(agent))
                elif kind == "old_labels":
                    assert old_day is not None
                    old = self._rows("labels", old_day, run, now)
                    back = (today - old_day).days
                    changes.append(dataclasses.replace(old, what=f"{old.what}, {back} days back: outside the "
                                                                 "lookback, for the sweep to find"))
                else:
                    day = rng.choice([d for d in window if d not in used])
                    changes.append(self._rows(kind, day, run, now))
                used.add(changes[-1].day)
        return changes

    def _flag(self, agent: str) -> Change:
        day = self.agents[agent]
        (n,), = self.conn.execute(f"SELECT count(*) {PASSING} AND c.agent_user_id = %(agent)s",
                                  {"customer": self.customer, "day": day, "agent": agent}).fetchall()
        self.conn.execute("UPDATE users SET is_dev_user = true WHERE id = %s", (agent,))
        self.flagged.add(agent)
        return Change("dev_user", day, n, f"{agent}, who started that day, flagged as a dev user: "
                                          f"{conversations(n)} no longer pass{'es' * (n == 1)} the filter")

    def _rows(self, kind: str, day: dt.date, run: int, now: dt.datetime) -> Change:
        k = max(1, round(ROWS_AT_SCALE_1[kind] * self.scale))
        if kind == "labels":
            ids = self._ids(day, f"{kind}-{run}", k, "AND NOT EXISTS (SELECT 1 FROM conversation_labels l "
                                                     f"WHERE l.conversation_id = c.id AND l.label = '{LABEL}')")
            self.conn.execute("INSERT INTO conversation_labels (conversation_id, label) SELECT unnest(%s::uuid[]), %s",
                              (ids, LABEL))
            return Change(kind, day, len(ids), f"{conversations(len(ids))} labelled '{LABEL}' "
                                               "(updated_at unchanged)")
        ids = self._ids(day, f"{kind}-{run}", k)
        if kind == "ended_at_reset":
            self.conn.execute("UPDATE conversations SET ended_at = NULL, updated_at = %s WHERE id = ANY(%s)",
                              (now, ids))
            return Change(kind, day, len(ids), f"{conversations(len(ids))} re-opened (ended_at back to NULL)")
        assert kind == "deleted", kind
        self.conn.execute("DELETE FROM conversation_labels WHERE conversation_id = ANY(%s)", (ids,))
        self.conn.execute("DELETE FROM conversations WHERE id = ANY(%s)", (ids,))
        return Change(kind, day, len(ids), f"{conversations(len(ids))} deleted")


def run_week(source_dsn: str, source: PostgresSource, sink: ClickHouseSink, *, scale: float, seed: int,
             customer: str, first: dt.date) -> dict:
    """Act 2 on the repaired demo data; `first`: the first generated day (the verify starts there)."""
    timeline = Timeline()
    runs = []
    with psycopg.connect(source_dsn, autocommit=True, options="-c TimeZone=UTC -c jit=off") as conn:
        week = Week(conn, scale=scale, seed=seed, customer=customer)
        for run, kinds in enumerate(SCRIPT, 1):
            today = week.day(run)
            with timeline.step(f"Day {run} ({today}): Postgres changes") as step:
                arrived, agent, theirs = week.arrive(run)
                old_day = first_swept(sink, customer, today) if "old_labels" in kinds else None
                changes = week.change(run, kinds, old_day)
                step.rows = arrived + sum(c.rows for c in changes)
            log.info(f"act 2, day {run} of {DAYS} ({today}): {arrived:,} new conversations ({agent} started: "
                     f"{theirs:,} of them); " + ("; ".join(f"{c.day}: {c.what}" for c in changes)
                                                 or "nothing else changed"))
            window = [today - dt.timedelta(days=n) for n in range(LOOKBACK, 0, -1)]
            with timeline.step(f"Day {run} ({today}): the daily job") as step:
                synced = run_sync(source, sink, SyncRequest(days=[today], check=window, sweep=SWEEP))
                step.rows = synced.rows_written
            runs.append(_run_doc(run, today, arrived, agent, theirs, changes, synced, step.seconds))
    last = week.day(DAYS)
    with timeline.step(f"Verify {first} – {last}") as step:
        verify = build_scope(source, sink, first, last, mode="push").to_json("verify")
        step.rows = verify["source"]["rows"]
    doc = {"lookback": LOOKBACK, "sweep": SWEEP, "from": week.day(1).isoformat(), "to": last.isoformat(),
           "runs": runs, "verify": verify, "as_expected": all(r["as_expected"] for r in runs),
           "timeline": timeline.as_list(), "seconds": round(sum(s.seconds for s in timeline.steps), 3)}
    return doc


def first_swept(sink: ClickHouseSink, customer: str, today: dt.date) -> dt.date:
    """The first day tonight's sweep will check (the one proven longest ago): where the old change goes, so
    that this very night finds it, as the ledger promises within ⌈days / SWEEP⌉ nights."""
    from ..apply.journal import Journal
    from ..apply.ledger import Ledger, history_days, least_recently_proven
    before = today - dt.timedelta(days=LOOKBACK + 1)
    return least_recently_proven(Ledger(Journal(sink), customer).proofs(), history_days(sink, sink.spec, before),
                                 SWEEP)[0]


def _run_doc(run: int, today: dt.date, arrived: int, agent: str, theirs: int, changes: list[Change],
             synced: SyncResult, seconds: float) -> dict:
    changed = sorted({c.day.isoformat() for c in changes})
    sync = synced.to_json()
    healed = sorted(h["day"] for h in sync["healed"])
    return {"run": run, "day": today.isoformat(), "arrived": arrived, "newcomer": agent, "newcomer_rows": theirs,
            "changes": [c.to_json() for c in changes], "changed_days": changed, "sync": sync,
            "seconds": round(seconds, 3),
            "as_expected": sync["drifted"] == changed and healed == changed and synced.in_sync}


def daily_job(act2: dict) -> DailyJob:
    """The act's runs as the report renders them."""
    def date(s: str) -> dt.date:
        return dt.date.fromisoformat(s)

    runs = []
    for r in act2["runs"]:
        sync = r["sync"]
        notes: dict[dt.date, list[str]] = {date(r["day"]): [
            f"{conversations(r['arrived'])} arrived ({r['newcomer']} started: {r['newcomer_rows']:,} of them)"]}
        for c in r["changes"]:
            notes.setdefault(date(c["day"]), []).append(c["what"])
        runs.append(DailyRun(
            day=date(r["day"]), checked=tuple(map(date, sync["checked"])), drifted=tuple(map(date, sync["drifted"])),
            healed=tuple(date(h["day"]) for h in sync["healed"]), rows_written=sync["rows_written"],
            fixed={date(h["day"]): {k: h[k] for k in ("stale", "changed", "missing", "duplicates")}
                   for h in sync["healed"]},
            seconds=r["seconds"], notes={d: "; ".join(n) for d, n in notes.items()}))
    v = act2["verify"]
    verdict = RangeVerdict(date(v["from"]), date(v["to"]), len(v["days"]), v["source"]["rows"], v["in_sync"],
                           sum(not d["in_sync"] for d in v["days"]))
    return DailyJob(act2["lookback"], tuple(runs), verdict, act2.get("sweep", 0))


def summary_lines(act2: dict) -> list[str]:
    """The act in a few lines: each day's run, then the verify."""
    lines = [f"Act 2: a week of the daily job (chsync sync --day D --lookback {act2['lookback']} --sweep {SWEEP}), "
             "Postgres changing rows of earlier days before each run:"]
    for r in act2["runs"]:
        sync = r["sync"]
        fixed: dict[str, int] = {}
        for h in sync["healed"]:
            for kind in ("stale", "changed", "missing", "duplicates"):
                fixed[kind] = fixed.get(kind, 0) + h[kind]
        what = ", ".join(f"{n:,} {kind}" for kind, n in fixed.items() if n)
        swept = f" ({len(sync['swept'])} swept)" if sync["swept"] else ""
        line = (f"  day {r['run']} ({r['day']}): checked {len(sync['checked'])} days{swept}, "
                f"{len(sync['drifted'])} drifted, "
                f"healed {len(sync['healed'])} (" + (f"fixed {what}; " if what else "")
                + f"{sync['rows_written']:,} rows written)")
        if not r["as_expected"]:
            line += f" — NOT the days Postgres changed: {', '.join(r['changed_days']) or 'none'}"
        lines.append(line)
    v = act2["verify"]
    bad = sum(not d["in_sync"] for d in v["days"])
    lines.append(f"  verify {v['from']} – {v['to']}: " + (
        f"in sync ({len(v['days'])} days, {v['source']['rows']:,} conversations)" if v["in_sync"]
        else f"NOT in sync ({bad} of {len(v['days'])} days differ)"))
    return lines
