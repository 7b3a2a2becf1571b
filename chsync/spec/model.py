"""What a table is: one place that knows its key, its day, its columns, its filter and its sink table.

Everything else (source SQL, sink SQL, the diff, reports) asks a TableSpec; no other module names a
column of any table. A TableSpec is resolved: its parameters (the customer among them) are fixed, and
`sql()` gives a spec expression with them substituted as literals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from typing import Any

from ..errors import BadInput
from . import params as P
from .types import ColumnType

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
CUSTOMER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
BUILTIN_REASONS = ("deleted", "day_moved")
UNKNOWN_REASON = "unknown"


@dataclasses.dataclass(frozen=True)
class Child:
    """An array column gathered from a child table: its `value`s whose `key` equals the base key."""
    table: str
    key: str
    value: str


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    sql: str | None = None          # a Postgres expression over the declared aliases
    nullable: bool = False
    low_cardinality: bool = False
    child: Child | None = None


@dataclasses.dataclass(frozen=True)
class Predicate:
    """One named condition of the filter; a stale row's reason is the name of the first one it fails.
    `sql` is None for the built-ins (`deleted`, `day_moved`), which only place those in the JSON."""
    reason: str
    sql: str | None = None


@dataclasses.dataclass(frozen=True)
class SinkTable:
    database: str                   # may hold {customer}
    table: str
    distributed_table: str
    order_by: tuple[str, ...]
    sharding_key: str
    partition: str                  # "day" or "month"


@dataclasses.dataclass(frozen=True)
class Lookup:
    """A Postgres table that names values (breakdown names, customers): `key` → `value`."""
    table: str
    key: str
    value: str


@dataclasses.dataclass(frozen=True)
class Units:
    """The seed's "profiles scanned (filtered to N)" line: rows of `table`, and those of the customer."""
    table: str
    customer: str
    label: str = "Profiles"


@dataclasses.dataclass(frozen=True)
class TableSpec:
    name: str
    key: str
    day: str
    version: str
    source_from: str
    joins: tuple[str, ...]
    filters: tuple[Predicate, ...]
    columns: tuple[Column, ...]
    sink: SinkTable
    params: dict[str, P.ParamValue] = dataclasses.field(default_factory=dict)
    day_timezone: str = "UTC"
    noun: tuple[str, str] = ("row", "rows")
    breakdown: str | None = None
    breakdown_names: Lookup | None = None
    customers: Lookup | None = None
    units: Units | None = None
    min_shrink_ratio: float = 0.5
    lookback_days: int | None = None
    keep_journal_days: int = 90
    history_from: dt.date | None = None   # the first day of the table's history (sweep, history page)
    origin: str = "spec"            # where it came from, for messages
    legacy: bool = False            # the seed spec overlaid by an old-style [filter]/[sink] file

    # -- columns -------------------------------------------------------------------------------
    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        """Sink column order."""
        return [c.name for c in self.columns]

    @property
    def key_column(self) -> Column:
        return self.column(self.key)

    @property
    def day_column(self) -> Column:
        return self.column(self.day)

    @property
    def compared(self) -> list[Column]:
        """Every column but the key: what "changed" is decided on."""
        return [c for c in self.columns if c.name != self.key]

    # -- filter --------------------------------------------------------------------------------
    @property
    def predicates(self) -> list[Predicate]:
        """The SQL predicates, in order (the built-ins have none)."""
        return [f for f in self.filters if f.sql is not None]

    @property
    def reasons(self) -> list[str]:
        """Every reason a stale row can have, in the JSON's order: as declared, with a built-in that is not
        listed placed first (`deleted`) or after the predicates (`day_moved`)."""
        names = [f.reason for f in self.filters]
        if "deleted" not in names:
            names.insert(0, "deleted")
        if "day_moved" not in names:
            names.append("day_moved")
        return names

    # -- parameters ----------------------------------------------------------------------------
    @property
    def customer(self) -> str | None:
        value = self.params.get("customer")
        return value if isinstance(value, str) else None

    def uses(self, name: str) -> bool:
        """Whether any SQL of the spec refers to the parameter `name`."""
        texts = [f.sql for f in self.filters if f.sql] + [c.sql for c in self.columns if c.sql]
        texts += [self.source_from, *self.joins]
        return any(name in P.used(t) for t in texts)

    def sql(self, text: str, where: str = "") -> str:
        """`text` with its :params as quoted literals."""
        return P.substitute(text, self.params, where or self.origin)

    def with_params(self, values: dict[str, P.ParamValue]) -> TableSpec:
        if not values:
            return self
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise BadInput(f"--param {unknown[0]}: {self.origin} has no such parameter "
                           f"(known: {', '.join(sorted(self.params)) or 'none'})")
        return dataclasses.replace(self, params={**self.params, **values})

    def with_customer(self, customer: str) -> TableSpec:
        validate_customer(customer)
        if "customer" not in self.params:
            raise BadInput(f"{self.origin} has no customer parameter: drop --customer/--all-customers")
        return dataclasses.replace(self, params={**self.params, "customer": customer})

    def with_sink(self, *, database: str | None = None, distributed_table: str | None = None) -> TableSpec:
        sink = self.sink
        if database:
            sink = dataclasses.replace(sink, database=database)
        if distributed_table:
            sink = dataclasses.replace(sink, distributed_table=distributed_table)
        return dataclasses.replace(self, sink=sink)

    # -- sink names ----------------------------------------------------------------------------
    @property
    def sink_database(self) -> str:
        name = self.sink.database
        if "{customer}" in name:
            if self.customer is None:
                raise BadInput(f"{self.origin}: [sink] database uses {{customer}} but there is no customer "
                               "parameter")
            name = name.replace("{customer}", self.customer.replace("-", "_"))
        if not IDENTIFIER.match(name):
            raise BadInput(f"customer {self.customer!r} gives no valid database name ({name!r}): "
                           "set [sink] database in --config")
        return name

    @property
    def staging_table(self) -> str:
        return f"{self.sink.table}_staging"

    @property
    def unsafe_for_swaps(self) -> str | None:
        """Why replacing whole partitions of this sink table could delete rows of other customers: the
        filter selects one customer, but every customer would share the sink database."""
        if self.uses("customer") and "{customer}" not in self.sink.database and not self.legacy:
            return (f"{self.origin}: the filter selects one customer (:customer) but [sink] database "
                    f"{self.sink.database!r} has no {{customer}}: a swap would replace other customers' rows; "
                    "put {customer} in the database name")
        return None

    # -- identity ------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if dataclasses.is_dataclass(value):
                return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            if isinstance(value, ColumnType):
                return str(value)
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value
        doc = plain(self)
        for col in doc["columns"]:
            col["type"] = str(self.column(col["name"]).type)
        if doc["history_from"] is None:   # added later: a spec without it means (and hashes) what it did
            del doc["history_from"]
        return doc

    @property
    def fingerprint(self) -> str:
        """A short hash of what the spec means (not where it came from): plans and journal runs record it,
        and a resume refuses when it changed."""
        doc = self.as_dict()
        doc.pop("origin", None)
        doc.pop("legacy", None)
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def validate_customer(customer: str) -> None:
    if not CUSTOMER.match(customer):
        raise BadInput(f"customer {customer!r} is not a valid name: use letters, digits, '-', '_' or '.'")
