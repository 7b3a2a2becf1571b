"""A backfill Plan as plain, typed data: per day the drift, the action, the SQL, the row delta and an ETA,
plus the read window the strategy implies. It prints, saves (JSON), loads back, and is applied by
apply/backfill.py; a plan records the spec's hash, so one made for another spec is refused."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import BadInput
from ..schemas import tagged

PLAN_VERSION = 1
DRIFT_KEYS = ("source", "sink_rows", "sink_distinct", "duplicates", "missing", "stale", "changed")


@dataclasses.dataclass
class DayPlan:
    day: str
    action: str                # skip | swap | drop | repair | reload
    drift: dict[str, int]      # DRIFT_KEYS
    expected_row_delta: int
    sql: list[str]
    eta_seconds: float

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Plan:
    customer: str | None
    sink: str                  # the sink URL, password masked
    sink_table: str
    first: str
    last: str
    strategy: str
    why: str
    mode: str
    mode_why: str
    read_window: str
    states: list[str]
    capabilities: dict
    global_steps: list[dict]
    days: list[DayPlan]
    eta_basis: str
    table: str = ""
    spec: str = ""             # the spec's hash
    chsync_version: str = ""
    requested: tuple[str, str] | None = None   # the range asked for, when the plan covers whole months

    @property
    def totals(self) -> dict:
        changing = [d for d in self.days if d.action != "skip"]
        mutation = sum(d.eta_seconds for d in self.days)
        return {"days": len(self.days), "days_to_change": len(changing),
                "expected_row_delta": sum(d.expected_row_delta for d in self.days),
                "rows_to_write": sum(d.drift["source"] for d in changing),
                "eta_seconds": round(mutation + (1.0 if self.global_steps else 0.0), 3)}

    def to_json(self) -> dict:
        doc = {"version": PLAN_VERSION, "customer": self.customer, "sink": self.sink, "sink_table": self.sink_table,
               "from": self.first, "to": self.last, "strategy": self.strategy, "why": self.why, "mode": self.mode,
               "mode_why": self.mode_why, "read_window": self.read_window, "states": self.states,
               "capabilities": self.capabilities, "global_steps": self.global_steps,
               "days": [d.to_json() for d in self.days], "totals": self.totals, "eta_basis": self.eta_basis,
               "table": self.table, "spec": self.spec, "chsync_version": self.chsync_version}
        if self.requested:
            doc["requested"] = {"from": self.requested[0], "to": self.requested[1]}
        return doc

    @classmethod
    def from_json(cls, doc: dict, where: str = "plan") -> Plan:
        if doc.get("version") != PLAN_VERSION or "days" not in doc:
            raise BadInput(f"{where} is not a chsync plan (version {PLAN_VERSION}): make one with `chsync plan`")
        try:
            requested = doc.get("requested")
            return cls(customer=doc["customer"], sink=doc["sink"], sink_table=doc["sink_table"], first=doc["from"],
                       last=doc["to"], strategy=doc["strategy"], why=doc["why"], mode=doc.get("mode", "push"),
                       mode_why=doc.get("mode_why", "requested"), read_window=doc["read_window"],
                       states=doc["states"], capabilities=doc.get("capabilities", {}),
                       global_steps=doc.get("global_steps", []),
                       days=[DayPlan(d["day"], d["action"], d["drift"], d["expected_row_delta"], d["sql"],
                                     d["eta_seconds"]) for d in doc["days"]],
                       eta_basis=doc.get("eta_basis", ""), table=doc.get("table", ""), spec=doc.get("spec", ""),
                       chsync_version=doc.get("chsync_version", ""),
                       requested=(requested["from"], requested["to"]) if requested else None)
        except (KeyError, TypeError) as e:
            raise BadInput(f"{where} is not a complete chsync plan (missing {e}): make one with `chsync plan`") \
                from None


def plan_document(plan: Plan) -> dict:
    """The `plan --json` document, which `plan --out` saves and `backfill --plan` loads. (The journal keeps
    `Plan.to_json()`, without the schema field: a run's record, not a document.)"""
    return tagged("plan", plan.to_json())


def save_plan(plan: Plan, path: str | Path) -> None:
    Path(path).write_text(json.dumps(plan_document(plan), indent=2, default=str))


def load_plan(path: str | Path) -> Plan:
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BadInput(f"plan file {path} not found") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"plan file {path} is not JSON ({e})") from None
    return Plan.from_json(doc, f"plan file {path}")
