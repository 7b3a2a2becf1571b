"""The seed's figures (scale 1.0) and how every count scales. Pure arithmetic, no databases.

`plan(scale)` says, per day, how many conversations of each drift kind the generator makes; the generator
turns that into rows and the ground truth is counted from what it made. At scale 1 the figures are the
seed's: 1,510,418 conversations in Postgres over 49 days (the sample days exactly), 1,636,467 sink rows,
1,633,276 distinct, 3,191 duplicate conversations, and the sample days' ClickHouse columns exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math

FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 2, 18)
DAYS = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
TOTAL = 1_510_418
# The seed's "Daily Volume (sample days)": Postgres, and ClickHouse (rows, distinct).
SAMPLE_DAYS = {dt.date(2026, 1, 1): 27_255, dt.date(2026, 1, 5): 44_593, dt.date(2026, 1, 17): 26_341,
               dt.date(2026, 1, 20): 33_929, dt.date(2026, 1, 29): 31_273, dt.date(2026, 2, 10): 32_249,
               dt.date(2026, 2, 13): 30_208}
SAMPLE_SINK = {dt.date(2026, 1, 1): (33_630, 33_625), dt.date(2026, 1, 5): (57_775, 57_766),
               dt.date(2026, 1, 17): (26_817, 26_804), dt.date(2026, 1, 20): (34_940, 34_393),
               dt.date(2026, 1, 29): (32_699, 31_880), dt.date(2026, 2, 10): (32_629, 32_620),
               dt.date(2026, 2, 13): (31_014, 30_776)}
SINK_DISTINCT_TOTAL = 1_633_276          # the seed's "ClickHouse distributed distinct conversations"
# Volume of the other days: weekends lower, the return-from-holidays days higher.
WEEKDAY_WEIGHT = {5: 0.84, 6: 0.88}  # Saturday, Sunday; other days 1.0
SPIKES = {dt.date(2026, 1, 2): 1.12, dt.date(2026, 1, 3): 1.05, dt.date(2026, 1, 4): 1.15,
          dt.date(2026, 1, 6): 1.10}

# The seed's "Usecase Distribution", Postgres column. It sums to 1,208 less than TOTAL: those
# conversations have no usecase (NULL in Postgres, '' in the sink).
USECASES = {"reservations": 979_269, "reservations-chat": 279_628, "customer-care": 148_826, "cargo": 40_254,
            "central-baggage": 33_589, "chat": 18_467, "cco": 9_177}
NO_USECASE = TOTAL - sum(USECASES.values())
CHAT_USECASES = ("reservations-chat", "chat")

# Drift at scale 1. Missing: chat conversations the cron never wrote (the seed's chat is 0.8x in
# ClickHouse) plus the day_moved ones on their new day.
MISSING_CHAT = 3_000
STALE_SMALL = {"ended_at_reset": 30_000, "source_type_changed": 17_000, "day_moved": 500, "deleted": 1_200,
               "no_agent_assistance": 500, "customer_changed": 300}
# Stale so that sink distinct = the seed's 1,633,276: stale - missing = 122,858 ("the excess ~123K").
STALE_TOTAL = SINK_DISTINCT_TOTAL - TOTAL + MISSING_CHAT + STALE_SMALL["day_moved"]
STALE = {"dev_user": STALE_TOTAL - sum(STALE_SMALL.values()), **STALE_SMALL}
# In the seed spec's filter order: a stale row's reason is the first predicate it fails.
STALE_REASONS = ("deleted", "ended_at_reset", "day_moved", "dev_user", "source_type_changed",
                 "no_agent_assistance", "customer_changed")
STALE_RESERVATIONS_CHAT_SHARE = 0.20
STALE_HEAVY = (dt.date(2026, 1, 2), dt.date(2026, 1, 12))  # the seed's early-January days are far off
STALE_LIGHT_RATE = 0.02                                     # stale per source conversation on later days
CHANGED_USECASE = 100_000        # sink says reservations-chat, Postgres says another usecase
CHANGED_AGENT = 600              # sink has another (non-dev) agent
# Duplicate conversations: 3,191 in all; the seed's sample days exactly; Jan 23 and Feb 14 (named by the
# seed as heavy) take what the light days (5-13 each, as the seed's light sample days) leave.
DUPLICATES_TOTAL = 3_191
_DUP_SEED = {d: rows - distinct for d, (rows, distinct) in SAMPLE_SINK.items()}
_DUP_NAMED = (dt.date(2026, 1, 23), dt.date(2026, 2, 14))
NOISE_SHARE = 0.15               # conversations on top that must never pass the filter
PROFILES, CUSTOMERS, AGENTS, DEV_AGENTS, OTHER_AGENTS = 88, 10, 2_000, 40, 200


def _light_duplicates() -> dict[dt.date, int]:
    light = {}
    for i, d in enumerate(DAYS):
        if d in _DUP_NAMED or _DUP_SEED.get(d, 0) > 100:
            continue
        light[d] = _DUP_SEED.get(d, 9 if d == LAST else 5 + (4 * i) % 9)  # Feb 18: 9 (seed's test day)
    return light


def _heavy_duplicates() -> dict[dt.date, int]:
    heavy = {d: n for d, n in _DUP_SEED.items() if n > 100}
    rest = DUPLICATES_TOTAL - sum(heavy.values()) - sum(_light_duplicates().values())
    jan23 = round(rest * 5 / 8)
    return {**heavy, _DUP_NAMED[0]: jan23, _DUP_NAMED[1]: rest - jan23}


DUPLICATES = dict(sorted(_heavy_duplicates().items()))   # the heavy days (scale 1)
DUPLICATES_LIGHT = _light_duplicates()


def scaled(n: int | float, scale: float) -> int:
    """n × scale, rounded, but at least 1 where n is non-zero."""
    return max(1, round(n * scale)) if n else 0


def check_scale(scale: float) -> float:
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale) \
            or not 0 < scale <= 10:
        raise ValueError(f"scale must be a number in (0, 10], got {scale!r}")
    return float(scale)


def spread(k: int, weights: dict) -> dict:
    """k split over the keys in proportion to their weights, exactly (largest remainders, ties in key order)."""
    total = sum(weights.values())
    if k == 0 or total == 0:
        return dict.fromkeys(weights, 0)
    exact = {key: k * w / total for key, w in weights.items()}
    parts = {key: int(x) for key, x in exact.items()}
    for key in sorted(exact, key=lambda key: exact[key] - parts[key], reverse=True)[: k - sum(parts.values())]:
        parts[key] += 1
    return parts


def day_weight(d: dt.date) -> float:
    return SPIKES.get(d, WEEKDAY_WEIGHT.get(d.weekday(), 1.0))


def day_counts(scale: float = 1.0) -> dict[dt.date, int]:
    """Conversations passing the filter per day: the seed's sample days as given, the others shaped by
    weekday and holiday so that the total is the seed's 1,510,418 (× scale, exactly)."""
    rest = [d for d in DAYS if d not in SAMPLE_DAYS]
    weights = {d: day_weight(d) for d in rest}
    per_weight = (TOTAL - sum(SAMPLE_DAYS.values())) / sum(weights.values())
    exact = {**SAMPLE_DAYS, **{d: w * per_weight for d, w in weights.items()}}
    counts = {d: scaled(exact[d], scale) for d in DAYS}
    counts[rest[-1]] += round(TOTAL * scale) - sum(counts.values())  # absorb rounding on one ordinary day
    return counts


def duplicate_counts(scale: float = 1.0) -> dict[dt.date, int]:
    """Duplicate conversations per day: the seed's heavy days, the rest spread thinly (5-13 a day at 1.0)."""
    light = spread(scaled(sum(DUPLICATES_LIGHT.values()), scale), DUPLICATES_LIGHT)
    counts = {**light, **{d: scaled(n, scale) for d, n in DUPLICATES.items()}}
    return {d: counts[d] for d in DAYS}


def stale_counts(scale: float = 1.0) -> dict[str, int]:
    return {reason: scaled(n, scale) for reason, n in STALE.items()}


def moved_to(day: dt.date) -> dt.date:
    """Where a day_moved conversation of `day` ends now: 1-3 days later (earlier at the end of the range),
    never a sample day (those keep the seed's figures)."""
    step = 1 + day.toordinal() % 3
    for direction in (1, -1):
        d = day + dt.timedelta(days=direction * step)
        while FIRST <= d <= LAST and d in SAMPLE_DAYS:
            d += dt.timedelta(days=direction)
        if FIRST <= d <= LAST:
            return d
    raise AssertionError(f"no day to move {day} to")  # pragma: no cover - the range has 42 other days


def _stale_day_weights() -> dict[dt.date, int]:
    """Stale conversations per day at scale 1: the sample days as the seed's ClickHouse column says,
    the early-January days heavy (as the seed's Jan 1 and Jan 5), the later days light."""
    days, missing = day_counts(1.0), spread(MISSING_CHAT, day_counts(1.0))
    fixed = {d: distinct - days[d] + missing[d] for d, (_, distinct) in SAMPLE_SINK.items()}
    rest = [d for d in DAYS if d not in fixed]
    heavy = [d for d in rest if STALE_HEAVY[0] <= d <= STALE_HEAVY[1]]
    light = [d for d in rest if d not in heavy]
    light_total = round(STALE_LIGHT_RATE * sum(days[d] for d in light))
    heavy_total = STALE_TOTAL - sum(fixed.values()) - light_total
    return {**fixed, **spread(light_total, {d: days[d] for d in light}),
            **spread(heavy_total, {d: days[d] for d in heavy})}


STALE_DAY_WEIGHTS = _stale_day_weights()


def _interleave(totals: dict[str, int]) -> list[str]:
    """A sequence holding each key exactly totals[key] times, evenly interleaved (smooth weighted
    round robin): every prefix is within one of proportional."""
    n = sum(totals.values())
    current = dict.fromkeys(totals, 0)
    out = []
    for _ in range(n):
        for key, w in totals.items():
            current[key] += w
        pick = max(current, key=current.__getitem__)
        current[pick] -= n
        out.append(pick)
    return out


@dataclasses.dataclass(frozen=True)
class DayPlan:
    day: dt.date
    source: int                 # passing the filter now (the figure of `day_counts`)
    ok: int                     # passing, sink row identical
    duplicates: int             # passing, sink row identical plus an older extra row
    changed_agent: int          # passing, sink row has another agent
    changed_usecase: int        # passing, sink row says reservations-chat
    missing_chat: int           # passing, not in the sink (usecase chat)
    arrivals: int               # day_moved conversations that end on this day now (missing here)
    stale: dict                 # reason -> conversations in the sink on this day that no longer pass

    @property
    def ordinary(self) -> int:
        return self.ok + self.duplicates + self.changed_agent

    @property
    def expected(self) -> dict:
        """This day's ground truth as the plan predicts it: distinct sink conversations are the source's
        minus the missing plus the stale, each duplicate adds a row, changed ones differ in a column."""
        stale = sum(self.stale.values())
        distinct = self.source - self.missing_chat - self.arrivals + stale
        return {"source": self.source, "sink_rows": distinct + self.duplicates, "sink_distinct": distinct,
                "duplicates": self.duplicates, "missing": self.missing_chat + self.arrivals, "stale": stale,
                "changed": self.changed_agent + self.changed_usecase}


@dataclasses.dataclass(frozen=True)
class Plan:
    scale: float
    days: list[DayPlan]
    noise: dict                 # day -> conversations that never pass the filter
    shares: dict                # group -> {usecase name or None: share}; groups: ordinary, changed, stale, missing

    def totals(self) -> dict:
        out: dict[str, int] = {}
        for d in self.days:
            for key, n in d.expected.items():
                out[key] = out.get(key, 0) + n
        return out

    def stale_reasons(self) -> dict[str, int]:
        return {r: sum(d.stale[r] for d in self.days) for r in STALE_REASONS}

    def expected_usecases(self) -> dict[str, float]:
        """Source conversations per usecase ('' for none) the shares aim at (exact up to ±a few)."""
        out: dict[str, float] = {}
        for group, k in (("ordinary", sum(d.ordinary for d in self.days)),
                         ("changed", sum(d.changed_usecase for d in self.days)),
                         ("missing", sum(d.missing_chat for d in self.days)),
                         ("stale", sum(d.stale["day_moved"] for d in self.days))):
            for u, s in self.shares[group].items():
                out[u or ""] = out.get(u or "", 0.0) + k * s
        return out


def _normalise(counts: dict) -> dict:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items() if v}


@functools.lru_cache(maxsize=8)
def plan(scale: float = 1.0) -> Plan:
    scale = check_scale(scale)
    source = day_counts(scale)
    dups = duplicate_counts(scale)
    missing = spread(scaled(MISSING_CHAT, scale), source)
    changed_uc = spread(scaled(CHANGED_USECASE, scale), source)
    changed_agent = spread(scaled(CHANGED_AGENT, scale), source)
    reasons = stale_counts(scale)
    stale_days = spread(sum(reasons.values()), STALE_DAY_WEIGHTS)
    sequence = iter(_interleave({r: reasons[r] for r in STALE}))
    stale = {}
    for d in DAYS:
        per = dict.fromkeys(STALE_REASONS, 0)
        for _ in range(stale_days[d]):
            per[next(sequence)] += 1
        stale[d] = per
    arrivals = dict.fromkeys(DAYS, 0)
    for d in DAYS:
        arrivals[moved_to(d)] += stale[d]["day_moved"]

    days = []
    for d in DAYS:
        ordinary = source[d] - changed_uc[d] - missing[d] - arrivals[d]
        ok = ordinary - dups[d] - changed_agent[d]
        if ok < 0:
            raise ValueError(f"scale {scale} is too small for the drift of {d}: use a larger scale")
        days.append(DayPlan(d, source[d], ok, dups[d], changed_agent[d], changed_uc[d], missing[d], arrivals[d],
                            stale[d]))

    seed_mix: dict[str | None, int] = dict(USECASES.items())
    seed_mix[None] = NO_USECASE   # the conversations without a usecase
    changed_mix = _normalise({u: n for u, n in USECASES.items() if u not in CHAT_USECASES})
    stale_mix = {"reservations-chat": STALE_RESERVATIONS_CHAT_SHARE,
                 **{u: s * (1 - STALE_RESERVATIONS_CHAT_SHARE) for u, s in changed_mix.items()}}
    # The ordinary conversations take what the drift kinds leave, so that the source mix is the seed's.
    want = {u: n * sum(source.values()) / TOTAL for u, n in seed_mix.items()}
    for group_mix, k in ((changed_mix, sum(changed_uc.values())), ({"chat": 1.0}, sum(missing.values())),
                         (stale_mix, reasons["day_moved"])):
        for u, s in group_mix.items():
            want[u] -= k * s
    shares = {"ordinary": _normalise({u: max(0.0, n) for u, n in want.items()}), "changed": changed_mix,
              "stale": stale_mix, "missing": {"chat": 1.0}}
    noise = spread(round(sum(source.values()) * NOISE_SHARE), source)
    return Plan(scale, days, noise, shares)


def usecase_shares() -> dict[str, float]:
    total = sum(USECASES.values())
    return {u: n / total for u, n in USECASES.items()}
