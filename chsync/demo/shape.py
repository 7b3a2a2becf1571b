"""The seed's figures (scale 1.0) and how every count scales. Pure arithmetic, no databases."""

from __future__ import annotations

import datetime as dt

FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 2, 18)
DAYS = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
TOTAL = 1_510_418
# The seed's "Daily Volume (sample days)", Postgres column.
SAMPLE_DAYS = {dt.date(2026, 1, 1): 27_255, dt.date(2026, 1, 5): 44_593, dt.date(2026, 1, 17): 26_341,
               dt.date(2026, 1, 20): 33_929, dt.date(2026, 1, 29): 31_273, dt.date(2026, 2, 10): 32_249,
               dt.date(2026, 2, 13): 30_208}
WEEKDAY_WEIGHT = {5: 0.84, 6: 0.88}  # Saturday, Sunday; other days 1.0
# The seed's "Usecase Distribution", Postgres column.
USECASES = {"reservations": 979_269, "reservations-chat": 279_628, "customer-care": 148_826, "cargo": 40_254,
            "central-baggage": 33_589, "chat": 18_467, "cco": 9_177}
CHAT_USECASES = ("reservations-chat", "chat")
# Drift in the sink at scale 1 (DESIGN §8).
STALE = {"dev_user": 72_000, "ended_at_reset": 30_000, "source_type_changed": 17_000, "day_moved": 2_000,
         "deleted": 1_200, "no_agent_assistance": 500, "customer_changed": 300}
STALE_RESERVATIONS_CHAT_SHARE = 0.20
CHANGED_USECASE = 100_000        # sink says reservations-chat, Postgres says otherwise
CHANGED_AGENT = 600
MISSING_CHAT = 3_500
DUPLICATES = {dt.date(2026, 1, 20): 547, dt.date(2026, 1, 23): 500, dt.date(2026, 1, 29): 819,
              dt.date(2026, 2, 13): 238, dt.date(2026, 2, 14): 300}
DUPLICATES_TOTAL = 3_191
NOISE_SHARE = 0.15
PROFILES, CUSTOMERS, AGENTS, DEV_AGENTS = 88, 10, 2_000, 40


def scaled(n: int | float, scale: float) -> int:
    """n × scale, rounded, but at least 1 where n is non-zero."""
    return max(1, round(n * scale)) if n else 0


def day_counts(scale: float = 1.0) -> dict[dt.date, int]:
    """Conversations passing the filter per day: the seed's sample days as given, the others shaped by
    weekday so that the total is the seed's 1,510,418 (× scale)."""
    rest = [d for d in DAYS if d not in SAMPLE_DAYS]
    weights = {d: WEEKDAY_WEIGHT.get(d.weekday(), 1.0) for d in rest}
    per_weight = (TOTAL - sum(SAMPLE_DAYS.values())) / sum(weights.values())
    exact = {**SAMPLE_DAYS, **{d: w * per_weight for d, w in weights.items()}}
    counts = {d: scaled(exact[d], scale) for d in DAYS}
    counts[rest[-1]] += round(TOTAL * scale) - sum(counts.values())  # absorb rounding on one ordinary day
    return counts


def duplicate_counts(scale: float = 1.0) -> dict[dt.date, int]:
    """Duplicate conversations per day: the seed's heavy days, the rest spread thinly."""
    light = [d for d in DAYS if d not in DUPLICATES]
    counts = spread(scaled(DUPLICATES_TOTAL - sum(DUPLICATES.values()), scale), dict.fromkeys(light, 1))
    counts.update({d: scaled(n, scale) for d, n in DUPLICATES.items()})
    return {d: counts[d] for d in DAYS}


def usecase_shares() -> dict[str, float]:
    total = sum(USECASES.values())
    return {u: n / total for u, n in USECASES.items()}


def spread(k: int, weights: dict) -> dict:
    """k split over the keys in proportion to their weights, exactly (largest remainders)."""
    total = sum(weights.values())
    exact = {key: k * w / total for key, w in weights.items()}
    parts = {key: int(x) for key, x in exact.items()}
    for key in sorted(exact, key=lambda key: exact[key] - parts[key], reverse=True)[: k - sum(parts.values())]:
        parts[key] += 1
    return parts


def stale_counts(scale: float = 1.0) -> dict[str, int]:
    return {reason: scaled(n, scale) for reason, n in STALE.items()}
