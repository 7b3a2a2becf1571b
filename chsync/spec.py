"""The declarative description of one sync (DESIGN §2-3), overridable by a TOML file.

Example `chsync.toml` (every key optional):

    [filter]
    customer = "alaska-air"
    source_types = ["voice", "chat"]
    require_agent_assistance = true

    [sink]
    database = "alaska_air_us_east_1"     # default: customer with '-' -> '_' + "_us_east_1"
    table = "conversation_with_labels"
    distributed_table = "conversation_with_labels_d"
    sharding_key = "cityHash64(toString(conversation_id))"   # or "rand()"

    [guards]
    min_shrink_ratio = 0.5                # refuse a day whose source shrinks below this share of the sink
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from .errors import BadInput

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
CUSTOMER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
# toString: ClickHouse 18.16 cannot hash a UUID directly.
SHARDING_KEYS = ("cityHash64(toString(conversation_id))", "rand()")

KEY_COLUMN = "conversation_id"
DAY_COLUMN = "ended_at"
VERSION_COLUMN = "updated_at"
# Sink columns in table order; the source read produces exactly these.
COLUMNS = ("conversation_id", "customer_id", "profile_id", "usecase_id", "agent_user_id",
           "source_type", "started_at", "ended_at", "labels", "updated_at")


@dataclasses.dataclass(frozen=True)
class Spec:
    customer: str = "alaska-air"
    source_types: tuple[str, ...] = ("voice", "chat")
    require_agent_assistance: bool = True
    database: str | None = None
    table: str = "conversation_with_labels"
    distributed_table: str = "conversation_with_labels_d"
    sharding_key: str = SHARDING_KEYS[0]
    min_shrink_ratio: float = 0.5

    @property
    def sink_database(self) -> str:
        return self.database or default_database(self.customer)

    @property
    def staging_table(self) -> str:
        return f"{self.table}_staging"

    def with_customer(self, customer: str) -> "Spec":
        validate_customer(customer)
        return dataclasses.replace(self, customer=customer)


def default_database(customer: str) -> str:
    name = customer.replace("-", "_") + "_us_east_1"
    if not IDENTIFIER.match(name):
        raise BadInput(f"customer {customer!r} gives no valid database name: set [sink] database in --config")
    return name


def validate_customer(customer: str) -> None:
    if not CUSTOMER.match(customer):
        raise BadInput(f"customer {customer!r} is not a valid name: use letters, digits, '-', '_' or '.'")


# (section, key) -> (Spec field, expected type, validator)
_FIELDS = {
    ("filter", "customer"): ("customer", str),
    ("filter", "source_types"): ("source_types", list),
    ("filter", "require_agent_assistance"): ("require_agent_assistance", bool),
    ("sink", "database"): ("database", str),
    ("sink", "table"): ("table", str),
    ("sink", "distributed_table"): ("distributed_table", str),
    ("sink", "sharding_key"): ("sharding_key", str),
    ("guards", "min_shrink_ratio"): ("min_shrink_ratio", float),
}


def load_spec(path: str | Path | None) -> Spec:
    if path is None:
        return Spec()
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise BadInput(f"config file {p} not found: check --config") from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"config file {p} is not valid TOML ({e}): fix the syntax") from None
    values: dict = {}
    for section, body in doc.items():
        if not isinstance(body, dict):
            raise BadInput(f"config {p}: top-level key {section!r} must be a section "
                           f"([filter], [sink] or [guards])")
        for key, value in body.items():
            if (section, key) not in _FIELDS:
                known = ", ".join(f"{s}.{k}" for s, k in _FIELDS)
                raise BadInput(f"config {p}: unknown key {section}.{key}: known keys are {known}")
            field, typ = _FIELDS[(section, key)]
            if typ is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
                raise BadInput(f"config {p}: {section}.{key} must be a {typ.__name__}, "
                               f"got {type(value).__name__} {value!r}")
            values[field] = value
    return validate(Spec(**_normalise(values)), str(p))


def _normalise(values: dict) -> dict:
    if "source_types" in values:
        values["source_types"] = tuple(values["source_types"])
    return values


def validate(spec: Spec, where: str = "spec") -> Spec:
    validate_customer(spec.customer)
    if not spec.source_types or not all(isinstance(s, str) and IDENTIFIER.match(s) for s in spec.source_types):
        raise BadInput(f"{where}: filter.source_types must be a non-empty list of names like \"voice\"")
    for field in ("database", "table", "distributed_table"):
        value = getattr(spec, field)
        if value is not None and not IDENTIFIER.match(value):
            raise BadInput(f"{where}: sink.{field} {value!r} is not a plain identifier "
                           "(letters, digits, '_'; no quotes or dots)")
    if spec.sharding_key not in SHARDING_KEYS:
        raise BadInput(f"{where}: sink.sharding_key must be one of {', '.join(SHARDING_KEYS)}")
    if not 0.0 <= spec.min_shrink_ratio <= 1.0:
        raise BadInput(f"{where}: guards.min_shrink_ratio must be between 0 and 1")
    spec.sink_database  # raises when the derived name is invalid
    return spec
