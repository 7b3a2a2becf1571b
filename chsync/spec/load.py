"""Reading spec files: TOML in, resolved TableSpecs out, every mistake one line (exit 2).

Three shapes of file:
- a full spec: a `[table]` section (and `[source]`, `[[filter]]`, `[columns]`, `[sink]`, ...);
- several tables: `[[tables]]` entries, each a full spec with a `name`; `[params]` are file-wide and an
  entry's own `params` override them;
- an overlay of the shipped seed spec with the settings chsync had before specs existed
  (`[filter]` customer/source_types/require_agent_assistance, `[sink]`, `[guards]`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from ..errors import BadInput
from .model import (
    BUILTIN_REASONS,
    IDENTIFIER,
    Child,
    Column,
    Lookup,
    Predicate,
    SinkTable,
    TableSpec,
    Units,
    validate_customer,
)
from .params import ParamValue
from .types import DAY_KINDS, KEY_KINDS, VERSION_KINDS, parse_type

SEED = "seed.toml"
_SHARDING = re.compile(r"^[A-Za-z0-9_(), ]+$")
_SECTIONS = {"table", "params", "source", "filter", "columns", "sink", "report", "tenant", "guards", "sync"}
_KEYS = {
    "table": {"key", "day", "version", "day_timezone", "name"},
    "source": {"from", "joins"},
    "filter": {"reason", "sql"},
    "column": {"sql", "type", "nullable", "low_cardinality", "child"},
    "child": {"table", "key", "value"},
    "sink": {"database", "table", "distributed_table", "order_by", "sharding_key", "partition"},
    "report": {"noun", "breakdown", "breakdown_names"},
    "lookup": {"table", "key", "value"},
    "tenant": {"customers", "units"},
    "units": {"table", "customer", "label"},
    "guards": {"min_shrink_ratio"},
    "sync": {"lookback_days", "keep_journal_days", "history_from"},
}
LEGACY_FIELDS = {
    ("filter", "customer"): str, ("filter", "source_types"): list, ("filter", "require_agent_assistance"): bool,
    ("sink", "database"): str, ("sink", "table"): str, ("sink", "distributed_table"): str,
    ("sink", "sharding_key"): str, ("guards", "min_shrink_ratio"): float,
}


def load_specs(path: str | Path | None) -> list[TableSpec]:
    """The tables a --config file declares (the shipped seed spec without one)."""
    if path is None:
        return [_seed()]
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise BadInput(f"config file {p} not found: check --config") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"config file {p} is not valid TOML ({e}): fix the syntax") from None
    where = f"config {p}"
    if "tables" in doc:
        return _many(doc, where)
    if "table" in doc:
        return [_full(doc, where, str(p))]
    return [_legacy(doc, where)]


def pick(specs: list[TableSpec], name: str | None) -> list[TableSpec]:
    """`--table NAME` (default: all)."""
    if name is None:
        return specs
    chosen = [s for s in specs if s.name == name]
    if not chosen:
        raise BadInput(f"--table {name}: the config declares {', '.join(s.name for s in specs)}")
    return chosen


def _seed() -> TableSpec:
    text = resources.files("chsync.spec").joinpath(SEED).read_text()
    return _full(tomllib.loads(text), "the shipped seed spec", "the shipped seed spec")


# -- shapes ------------------------------------------------------------------------------------------------

def _many(doc: dict, where: str) -> list[TableSpec]:
    extra = set(doc) - {"tables", "params"}
    if extra:
        raise BadInput(f"{where}: with [[tables]], top-level sections other than [params] belong inside each "
                       f"table (found {', '.join(sorted(extra))})")
    tables = doc["tables"]
    if not isinstance(tables, list) or not tables:
        raise BadInput(f"{where}: [[tables]] must be a list of table entries")
    shared = _dict(doc.get("params", {}), f"{where}: [params]")
    specs = []
    for i, entry in enumerate(tables):
        entry = _dict(entry, f"{where}: tables[{i}]")
        name = entry.get("name")
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            raise BadInput(f"{where}: tables[{i}] needs a name (letters, digits, '_')")
        body = {k: v for k, v in entry.items() if k != "name"}
        body["params"] = {**shared, **_dict(body.get("params", {}), f"{where}: tables.{name}.params")}
        body.setdefault("table", {})
        spec = _full(body, f"{where}: table {name}", f"{where} (table {name})")
        specs.append(dataclasses.replace(spec, name=name))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise BadInput(f"{where}: two tables share a name")
    sinks = [(s.sink.database, s.sink.table) for s in specs]
    if len(set(sinks)) != len(sinks):
        raise BadInput(f"{where}: two tables write the same sink table")
    return specs


def _legacy(doc: dict, where: str) -> TableSpec:
    """The seed spec with the old-style settings applied."""
    seed = _seed()
    params, sink, ratio = dict(seed.params), seed.sink, seed.min_shrink_ratio
    sharding_keys = (seed.sink.sharding_key, "rand()")   # the two layouts seen in the wild
    for section, body in doc.items():
        if not isinstance(body, dict):
            raise BadInput(f"{where}: top-level key {section!r} must be a section ([filter], [sink] or [guards])")
        for key, raw in body.items():
            if (section, key) not in LEGACY_FIELDS:
                known = ", ".join(f"{s}.{k}" for s, k in LEGACY_FIELDS)
                raise BadInput(f"{where}: unknown key {section}.{key}: known keys are {known}")
            value = _legacy_value(raw, LEGACY_FIELDS[(section, key)], f"{where}: {section}.{key}")
            if section == "filter":
                if key == "source_types":
                    if not value or not all(isinstance(s, str) and IDENTIFIER.match(s) for s in value):
                        raise BadInput(f"{where}: filter.source_types must be a non-empty list of names like "
                                       "\"voice\"")
                    value = tuple(value)
                if key == "customer":
                    validate_customer(value)
                params[key] = value
            elif section == "sink":
                if key == "sharding_key":
                    if value not in sharding_keys:
                        raise BadInput(f"{where}: sink.sharding_key must be one of {', '.join(sharding_keys)}")
                elif not IDENTIFIER.match(value):
                    raise BadInput(f"{where}: sink.{key} {value!r} is not a plain identifier (letters, digits, "
                                   "'_'; no quotes or dots)")
                sink = dataclasses.replace(sink, **{key: value})
            else:
                if not 0.0 <= value <= 1.0:
                    raise BadInput(f"{where}: guards.min_shrink_ratio must be between 0 and 1")
                ratio = value
    spec = dataclasses.replace(seed, params=params, sink=sink, min_shrink_ratio=ratio, origin=where, legacy=True,
                               name=sink.table)
    spec.sink_database  # noqa: B018 - raises when the derived name is invalid
    return spec


def _legacy_value(value: Any, typ: type, where: str) -> Any:
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
        raise BadInput(f"{where} must be a {typ.__name__}, got {type(value).__name__} {value!r}")
    return value


def _full(doc: dict, where: str, origin: str) -> TableSpec:
    for section, body in doc.items():
        if section not in _SECTIONS:
            raise BadInput(f"{where}: unknown section [{section}]: known are {', '.join(sorted(_SECTIONS))}")
        if section != "filter" and not isinstance(body, dict):
            raise BadInput(f"{where}: {section} must be a section [{section}]")
    table = _section(doc, "table", where, required=("key", "day", "version"))
    params = {k: _param(v, f"{where}: params.{k}") for k, v in doc.get("params", {}).items()}
    customer = params.get("customer")
    if isinstance(customer, str):
        validate_customer(customer)
    source = _section(doc, "source", where, required=("from",))
    columns = _columns(_dict(doc.get("columns"), f"{where}: [columns]"), where)
    names = [c.name for c in columns]
    for role in ("key", "day", "version"):
        _ident(table[role], f"{where}: table.{role}")
        if table[role] not in names:
            raise BadInput(f"{where}: table.{role} {table[role]!r} is not a declared column ([columns])")
    by_name = {c.name: c for c in columns}
    for role, kinds in (("key", KEY_KINDS), ("day", DAY_KINDS), ("version", VERSION_KINDS)):
        col = by_name[table[role]]
        if col.type.kind not in kinds or col.nullable:
            raise BadInput(f"{where}: the {role} column {col.name} must be a non-nullable {' or '.join(kinds)}, "
                           f"not {'nullable ' if col.nullable else ''}{col.type}")
    sink = _sink(_section(doc, "sink", where, required=("table",)), table["key"], by_name, where,
                 "customer" in params)
    report = _section(doc, "report", where)
    tenant = _section(doc, "tenant", where)
    guards = _section(doc, "guards", where)
    sync = _section(doc, "sync", where)
    breakdown = report.get("breakdown")
    if breakdown is not None and breakdown not in names:
        raise BadInput(f"{where}: report.breakdown {breakdown!r} is not a declared column")
    if breakdown is not None and by_name[breakdown].type.is_array:
        raise BadInput(f"{where}: report.breakdown {breakdown!r} is an array; pick a scalar column")
    noun = report.get("noun", ["row", "rows"])
    if not (isinstance(noun, list) and len(noun) == 2 and all(isinstance(n, str) and n for n in noun)):
        raise BadInput(f"{where}: report.noun must be [\"singular\", \"plural\"]")
    ratio = _number(guards.get("min_shrink_ratio", 0.5), f"{where}: guards.min_shrink_ratio")
    if not 0.0 <= ratio <= 1.0:
        raise BadInput(f"{where}: guards.min_shrink_ratio must be between 0 and 1")
    timezone = table.get("day_timezone", "UTC")
    _timezone(timezone, f"{where}: table.day_timezone")
    if by_name[table["day"]].type.kind == "timestamp" and timezone != "UTC":
        raise BadInput(f"{where}: the day column {table['day']} is a timestamp without time zone: its day is the "
                       f"date of its wall-clock reading, so remove table.day_timezone (or declare it timestamptz)")
    spec = TableSpec(
        name=_ident(table.get("name", sink.table), f"{where}: table.name"),
        key=table["key"], day=table["day"], version=table["version"],
        source_from=_text(source["from"], f"{where}: source.from"),
        joins=tuple(_text(j, f"{where}: source.joins")
                    for j in _list(source.get("joins", []), f"{where}: source.joins")),
        filters=_filters(doc.get("filter", []), where),
        columns=tuple(columns), sink=sink, params=params, day_timezone=timezone,
        noun=(noun[0], noun[1]), breakdown=breakdown,
        breakdown_names=_lookup(report.get("breakdown_names"), f"{where}: report.breakdown_names"),
        customers=_lookup(tenant.get("customers"), f"{where}: tenant.customers"),
        units=_units(tenant.get("units"), f"{where}: tenant.units"),
        min_shrink_ratio=ratio,
        lookback_days=_count(sync.get("lookback_days"), f"{where}: sync.lookback_days"),
        keep_journal_days=_count(sync.get("keep_journal_days", 90), f"{where}: sync.keep_journal_days") or 90,
        history_from=_date(sync.get("history_from"), f"{where}: sync.history_from"),
        origin=origin)
    for text, what in [(f.sql, f"filter {f.reason}") for f in spec.filters if f.sql] + \
                      [(c.sql, f"column {c.name}") for c in spec.columns if c.sql]:
        spec.sql(text, f"{where}: {what}")  # unknown :params fail here, before anything runs
    return spec


# -- sections ----------------------------------------------------------------------------------------------

def _section(doc: dict, name: str, where: str, required: tuple[str, ...] = ()) -> dict:
    body = _dict(doc.get(name, {}), f"{where}: [{name}]")
    _known(body, _KEYS[name], f"{where}: [{name}]", name)
    for key in required:
        if key not in body:
            raise BadInput(f"{where}: [{name}] needs {key} = ...")
    return body


def _columns(body: dict, where: str) -> list[Column]:
    if not body:
        raise BadInput(f"{where}: [columns] must declare the table's columns (at least key, day and version)")
    columns = []
    for name, entry in body.items():
        at = f"{where}: columns.{name}"
        _ident(name, at)
        if name.lower().startswith("chsync_"):
            raise BadInput(f"{at}: names starting with chsync_ are chsync's own (its SQL's working columns): "
                           "rename the column")
        entry = _dict(entry, at)
        _known(entry, _KEYS["column"], at, "column")
        ctype = parse_type(entry.get("type"), at)
        child = None
        if "child" in entry:
            child_doc = _dict(entry["child"], f"{at}.child")
            _known(child_doc, _KEYS["child"], f"{at}.child", "child")
            missing = [k for k in ("table", "key", "value") if k not in child_doc]
            if missing:
                raise BadInput(f"{at}.child needs table, key and value (missing {', '.join(missing)})")
            child = Child(*(_text(child_doc[k], f"{at}.child.{k}") for k in ("table", "key", "value")))
            if not ctype.is_array:
                raise BadInput(f"{at}: a child table gives an array: declare type = \"text[]\"")
        sql = entry.get("sql")
        if sql is None and child is None:
            raise BadInput(f"{at}: needs sql = \"<Postgres expression>\" (or child = {{...}} for an array)")
        if sql is not None and child is not None:
            raise BadInput(f"{at}: give sql or child, not both")
        nullable = _bool(entry.get("nullable", False), f"{at}.nullable")
        if nullable and ctype.is_array:
            raise BadInput(f"{at}: an array cannot be nullable (no rows = an empty array)")
        columns.append(Column(name, ctype, _text(sql, f"{at}.sql") if sql is not None else None, nullable,
                              _bool(entry.get("low_cardinality", False), f"{at}.low_cardinality"), child))
    return columns


def _filters(entries: Any, where: str) -> tuple[Predicate, ...]:
    if isinstance(entries, dict):
        raise BadInput(f"{where}: write the filter as [[filter]] entries (reason = ..., sql = ...)")
    out, seen = [], set()
    for i, entry in enumerate(_list(entries, f"{where}: [[filter]]")):
        entry = _dict(entry, f"{where}: filter[{i}]")
        _known(entry, _KEYS["filter"], f"{where}: filter[{i}]", "filter")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not IDENTIFIER.match(reason):
            raise BadInput(f"{where}: filter[{i}] needs reason = \"a_name\" (letters, digits, '_')")
        if reason in seen or reason == "unknown":
            raise BadInput(f"{where}: filter reason {reason!r} is used twice (or reserved)")
        seen.add(reason)
        sql = entry.get("sql")
        if sql is None and reason not in BUILTIN_REASONS:
            raise BadInput(f"{where}: filter {reason!r} has no sql: only the built-ins "
                           f"{' and '.join(BUILTIN_REASONS)} may go without")
        if sql is not None and reason in BUILTIN_REASONS:
            raise BadInput(f"{where}: filter {reason!r} is built in: remove its sql")
        out.append(Predicate(reason, _text(sql, f"{where}: filter {reason}.sql") if sql is not None else None))
    return tuple(out)


def _sink(body: dict, key: str, columns: dict[str, Column], where: str, has_customer: bool) -> SinkTable:
    table = _ident(body["table"], f"{where}: sink.table")
    database = body.get("database", "{customer}" if has_customer else "default")
    if not isinstance(database, str) or not IDENTIFIER.match(database.replace("{customer}", "customer")):
        raise BadInput(f"{where}: sink.database {database!r} is not a plain identifier (letters, digits, '_', "
                       "optionally {customer})")
    order_by = tuple(_list(body.get("order_by", [key]), f"{where}: sink.order_by"))
    for name in order_by:
        if name not in columns:
            raise BadInput(f"{where}: sink.order_by names {name!r}, which is not a declared column")
    default_key = (f"cityHash64(toString({key}))" if columns[key].type.kind in ("uuid",) else f"cityHash64({key})")
    sharding = body.get("sharding_key", default_key)
    if not isinstance(sharding, str) or not _SHARDING.match(sharding):
        raise BadInput(f"{where}: sink.sharding_key {sharding!r} must be a ClickHouse expression such as "
                       f"{default_key} or rand()")
    partition = body.get("partition", "day")
    if partition not in ("day", "month"):
        raise BadInput(f"{where}: sink.partition must be \"day\" or \"month\"")
    return SinkTable(database, table, _ident(body.get("distributed_table", f"{table}_d"), f"{where}: sink."
                                                                                            "distributed_table"),
                     order_by, sharding, partition)


def _lookup(body: Any, where: str) -> Lookup | None:
    if body is None:
        return None
    body = _dict(body, where)
    _known(body, _KEYS["lookup"] | {"name"}, where, "lookup")
    value = body.get("value", body.get("name"))
    if "table" not in body or "key" not in body or value is None:
        raise BadInput(f"{where} needs table, key and value")
    return Lookup(_text(body["table"], f"{where}.table"), _ident(body["key"], f"{where}.key"),
                  _ident(value, f"{where}.value"))


def _units(body: Any, where: str) -> Units | None:
    if body is None:
        return None
    body = _dict(body, where)
    _known(body, _KEYS["units"], where, "units")
    if "table" not in body or "customer" not in body:
        raise BadInput(f"{where} needs table and customer")
    return Units(_text(body["table"], f"{where}.table"), _ident(body["customer"], f"{where}.customer"),
                 _text(body.get("label", "Profiles"), f"{where}.label"))


# -- values ------------------------------------------------------------------------------------------------

def _known(body: dict, allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadInput(f"{where}: unknown key {unknown[0]!r}: a {what} takes {', '.join(sorted(allowed))}")


def _dict(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(f"{where} must be a table ({{...}} or a [section])")
    return value


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise BadInput(f"{where} must be a list")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{where} must be a non-empty string")
    return value


def _ident(value: Any, where: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise BadInput(f"{where} {value!r} is not a plain identifier (letters, digits, '_')")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise BadInput(f"{where} must be true or false")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"{where} must be a number")
    return float(value)


def _date(value: Any, where: str) -> dt.date | None:
    """A TOML date (history_from = 2025-01-01) or the same as a string."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else _not_a_date(where)
    except ValueError:
        return _not_a_date(where)


def _not_a_date(where: str) -> NoReturn:
    raise BadInput(f"{where} must be a date, YYYY-MM-DD")


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadInput(f"{where} must be a whole number of days")
    return value


def _param(value: Any, where: str) -> ParamValue:
    if isinstance(value, list):
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            raise BadInput(f"{where}: a list parameter holds strings or numbers")
        return tuple(value)
    if isinstance(value, (str, int, float, bool)):
        return value
    raise BadInput(f"{where} must be a string, number, boolean or list")


def _timezone(name: Any, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        ZoneInfo(_text(name, where))
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"{where} {name!r} is not a time zone name like UTC or America/New_York") from None
