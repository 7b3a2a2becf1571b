"""Golden-like documents of each command and the samples their metrics must have, written out from the
documents by hand (not through chsync.report.metrics), plus a parser of exposition text back into samples."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

GOLDEN = Path(__file__).parent / "golden" / "files"
LABELS = ("table", "customer", "command")


def golden(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text())


def sync_with_lookback() -> dict:
    """sync.json plus the lookback keys: 14 days checked, 2 drifted and both healed."""
    doc = copy.deepcopy(golden("sync.json"))
    doc["checked"] = [f"2026-01-{d:02d}" for d in range(21, 32)] + ["2026-02-01", "2026-02-02", "2026-02-03"]
    doc["drifted"] = ["2026-01-25", "2026-01-29"]
    doc["healed"] = [
        {"day": "2026-01-25", "missing": 0, "stale": 6, "stale_reasons": {"dev_user": 4, "deleted": 2},
         "changed": 18, "duplicates": 0},
        {"day": "2026-01-29", "missing": 3, "stale": 7, "stale_reasons": {"dev_user": 5, "ended_at_reset": 2},
         "changed": 21, "duplicates": 8},
    ]
    doc |= {"swept": ["2026-01-02"], "days_in_history": 49, "days_never_proven": 3,
            "oldest_proof_age_seconds": 1296000.5}
    return doc


def backfill_with_a_skipped_day() -> dict:
    doc = copy.deepcopy(golden("backfill-repair.json"))
    doc["days"].insert(0, {"day": "2026-01-24", "action": "skip", "rows_written": 0, "seconds": 0.0})
    return doc


def expected_drift(command: str, doc: dict) -> dict[tuple[str, tuple], float]:
    """{(metric, extra labels): value} for the drift metrics, straight from the document's fields."""
    if command == "sync" and "checked" in doc:
        healed = doc["healed"]
        reasons = {r for day in healed for r in day["stale_reasons"]}
        values = {"chsync_rows_written": doc["rows_written"], "chsync_days_checked": len(doc["checked"]),
                  "chsync_days_drifted": len(doc["drifted"]), "chsync_days_healed": len(healed),
                  **{("chsync_drift_rows", kind): sum(d[field] for d in healed) for kind, field in
                     (("missing", "missing"), ("stale", "stale"), ("changed", "changed"),
                      ("duplicate", "duplicates"))},
                  **{("chsync_stale_rows", r): sum(d["stale_reasons"].get(r, 0) for d in healed) for r in reasons}}
        if "days_never_proven" in doc:
            values["chsync_days_never_proven"] = doc["days_never_proven"]
            if doc["oldest_proof_age_seconds"] is not None:
                values["chsync_oldest_proof_age_seconds"] = doc["oldest_proof_age_seconds"]
    elif command == "sync":
        values = {"chsync_rows_written": doc["rows_written"], "chsync_days_checked": len(doc["days"]),
                  "chsync_days_drifted": 0, "chsync_days_healed": 0,
                  **{("chsync_drift_rows", kind): 0 for kind in ("missing", "stale", "changed", "duplicate")}}
    elif command in ("verify", "scope"):
        values = {"chsync_rows_written": 0, "chsync_days_checked": len(doc["days"]),
                  "chsync_days_drifted": len([d for d in doc["days"] if not d["in_sync"]]),
                  "chsync_days_healed": 0,
                  ("chsync_drift_rows", "missing"): doc["totals"]["missing"],
                  ("chsync_drift_rows", "stale"): doc["totals"]["stale"],
                  ("chsync_drift_rows", "changed"): doc["totals"]["changed"],
                  ("chsync_drift_rows", "duplicate"): doc["sink"]["duplicate_keys"],
                  **{("chsync_stale_rows", r): n for r, n in doc["stale_reasons"].items()}}
    else:
        rewritten = len([d for d in doc["days"] if d["action"] != "skip"])
        values = {"chsync_rows_written": doc["rows_written"], "chsync_days_checked": len(doc["days"]),
                  "chsync_days_drifted": rewritten, "chsync_days_healed": rewritten,
                  ("chsync_drift_rows", "missing"): 0, ("chsync_drift_rows", "stale"): 0,
                  ("chsync_drift_rows", "changed"): 0,
                  ("chsync_drift_rows", "duplicate"): doc["verify"]["duplicate_keys"]}
    return {(key, ()) if isinstance(key, str) else
            (key[0], (("kind" if key[0] == "chsync_drift_rows" else "reason", key[1]),)): float(v)
            for key, v in values.items()}


def parse(text: str, outer: tuple[str, ...] = LABELS, where: dict[str, str] | None = None) -> \
        tuple[dict[tuple[str, tuple], float], dict[str, str], list[dict]]:
    """The chsync_* samples of exposition text (those with every label of `where`): (values by (name, labels
    other than `outer`), type by family, every sample's labels)."""
    values, types, labels = {}, {}, []
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("chsync_"):
            continue
        types[family.name] = family.type
        for sample in family.samples:
            if where and any(sample.labels.get(k) != v for k, v in where.items()):
                continue
            extra = tuple(sorted((k, v) for k, v in sample.labels.items() if k not in outer))
            key = (sample.name, extra)
            assert key not in values, f"{key} appears twice"
            values[key] = sample.value
            labels.append(sample.labels)
    return values, types, labels
