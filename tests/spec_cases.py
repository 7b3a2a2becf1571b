"""Random table specs with hostile rows, for the property tests of every column type: a spec (TOML), the
Postgres tables it reads, and what the sink must hold for each value (the model the tests hold chsync to).

A case is one base table `pt_base t` (key `k`, day `d`, version `v`, columns `c0`, `c1`, ...) and, when
the spec has a child-table array, `pt_child (k, val)`. Every other column is nullable in Postgres, so a
non-nullable spec column sees NULLs where its type has a zero ('' / 0 / false), as a real table would."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import struct
import uuid
from pathlib import Path

from hypothesis import strategies as st

DAYS = (dt.date(2026, 1, 20), dt.date(2026, 1, 21))
ZONES = ("UTC", "Asia/Kathmandu", "America/St_Johns")   # whole hours, +05:45, -03:30
SCALARS = ("uuid", "bigint", "int", "smallint", "text", "boolean", "date", "timestamptz", "timestamp", "numeric",
           "double", "real", "bytea", "json", "jsonb", "inet", "time", "interval", "enum")
ZEROS = {"text": "", "bigint": 0, "int": 0, "smallint": 0, "boolean": False, "double": 0.0, "real": 0.0}
PG_TYPES = {"uuid": "uuid", "bigint": "bigint", "int": "integer", "smallint": "smallint", "text": "text",
            "boolean": "boolean", "date": "date", "timestamptz": "timestamptz", "timestamp": "timestamp",
            "double": "double precision", "real": "real", "bytea": "bytea", "json": "json", "jsonb": "jsonb",
            "inet": "inet", "time": "time", "interval": "interval", "enum": "pt_mood", "text[]": "text[]"}
# Values compared as Postgres's text of them: each sample is already that text, so it is also what the sink
# must hold. jsonb maps its input (any key order and spacing) to the text Postgres normalises it to.
ENUM_LABELS = ["a", "it's", 'say "hi"', "é", "Z a", "\\N"]
ARRAY_ITEMS = ("smallint", "int", "bigint", "uuid", "boolean", "date", "timestamptz", "numeric", "double")
INETS = ["192.168.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "192.168.1.5/24", "0.0.0.0", "::ffff:1.2.3.4"]
TIMES = ["00:00:00", "23:59:59.999999", "12:00:00.5", "00:00:00.000001", "13:14:15"]
INTERVALS = ["00:00:00", "1 day", "-1 days +02:03:04.5", "1 year 2 mons", "00:00:00.000001", "-00:00:01",
             "3 days 04:05:06", "178000000 years"]
JSONB = {r'{"b":1,  "a":[1,2,{"\u00e9":"x\u00e9"}]}': '{"a": [1, 2, {"é": "xé"}], "b": 1}',
         '{"aa": null, "b": true}': '{"b": true, "aa": null}', '[]': '[]', r'"x\ty"': r'"x\ty"',
         '{"k": 1.50, "k2": -0}': '{"k": 1.50, "k2": 0}', '{"a":1,"a":2}': '{"a": 2}', 'null': 'null',
         r'{"😀": "\\\""}': r'{"😀": "\\\""}'}
JSONS = ['{"b":1,  "a":[1,2]}', '{"a":1,"a":2}', '[]', ' "x" ', r'{"é": "\u00e9"}', '1.50', 'null']


@dataclasses.dataclass(frozen=True)
class Col:
    name: str
    kind: str                   # a spec kind; numeric carries precision and scale
    nullable: bool = False
    precision: int = 0
    scale: int = 0
    child: bool = False         # a text[] gathered from pt_child
    low_cardinality: bool = False
    declared: str = ""          # the spec's and Postgres's type when not the kind's own (varchar(5) for text)

    @property
    def type(self) -> str:
        if self.declared:
            return self.declared
        if self.kind in ("numeric", "numeric[]"):
            return f"numeric({self.precision},{self.scale})" + self.kind[len("numeric"):]
        return self.kind

    @property
    def pg_type(self) -> str:
        if self.item is not None:
            return self.item.pg_type + "[]"
        return self.type if self.kind == "numeric" or self.declared else PG_TYPES[self.kind]

    @property
    def item(self) -> Col | None:
        """An ordered array's element, as a nullable column (text[] is a multiset of texts instead)."""
        if not self.kind.endswith("[]") or self.kind == "text[]":
            return None
        return Col(self.name, self.kind[:-2], True, self.precision, self.scale)

    @property
    def push_only(self) -> bool:
        """postgresql() cannot read it as Postgres holds it (a bytea's escaped text, an interval in the
        session's IntervalStyle): chsync pushes such a table."""
        return self.kind in ("bytea", "interval") or self.item is not None

    @property
    def has_zero(self) -> bool:
        return self.kind in ZEROS or self.kind == "numeric" or self.kind.endswith("[]")


@dataclasses.dataclass
class Case:
    key: Col
    day: Col
    version: Col
    others: list[Col]
    rows: list[dict]            # column name -> Python value (children: the child array's values)
    zone: str = "UTC"

    @property
    def columns(self) -> list[Col]:
        return [self.key, self.day, *self.others, self.version]

    @property
    def child(self) -> Col | None:
        return next((c for c in self.others if c.child), None)

    def spec_toml(self, database: str, table: str = "pt_rows") -> str:
        lines = ["[table]", 'key = "k"', 'day = "d"', 'version = "v"', f"day_timezone = {json.dumps(self.zone)}",
                 "[source]", 'from = "pt_base t"', "[columns]"]
        for c in self.columns:
            parts = [f"type = {json.dumps(c.type)}"]
            if c.child:
                parts.append('child = { table = "pt_child", key = "k", value = "val" }')
            else:
                parts.insert(0, f'sql = "t.{c.name}"')
            if c.nullable:
                parts.append("nullable = true")
            if c.low_cardinality:
                parts.append("low_cardinality = true")
            lines.append(f"{c.name} = {{ {', '.join(parts)} }}")
        lines += ["[sink]", f"database = {json.dumps(database)}", f"table = {json.dumps(table)}"]
        return "\n".join(lines) + "\n"

    def write_spec(self, path: Path, database: str) -> str:
        path.write_text(self.spec_toml(database))
        return str(path)

    def create(self, conn) -> None:
        """(Re)create the Postgres tables and fill them."""
        conn.execute("DROP TABLE IF EXISTS pt_base, pt_child")
        conn.execute("DROP TYPE IF EXISTS pt_mood")
        labels = ", ".join("'" + label.replace("'", "''") + "'" for label in ENUM_LABELS)
        conn.execute(f"CREATE TYPE pt_mood AS ENUM ({labels})")
        defs = [f"{c.name} {c.pg_type}" + (" PRIMARY KEY" if c is self.key else
                                            " NOT NULL" if c in (self.day, self.version) else "")
                for c in self.columns if not c.child]
        conn.execute(f"CREATE TABLE pt_base ({', '.join(defs)})")
        conn.execute(f"CREATE TABLE pt_child (k {self.key.pg_type}, val text)")
        for row in self.rows:
            self.insert(conn, row)

    def insert(self, conn, row: dict) -> None:
        scalars = [c for c in self.columns if not c.child]
        conn.execute(f"INSERT INTO pt_base ({', '.join(c.name for c in scalars)}) "
                     f"VALUES ({', '.join(['%s'] * len(scalars))})", [pg_value(c, row[c.name]) for c in scalars])
        child = self.child
        if child is not None:
            for value in row[child.name]:
                conn.execute("INSERT INTO pt_child VALUES (%s, %s)", (row["k"], value))

    def update(self, conn, row: dict, col: Col, value) -> None:
        """Set one value in Postgres (and in `row`)."""
        row[col.name] = value
        if col.child:
            conn.execute("DELETE FROM pt_child WHERE k = %s", (row["k"],))
            for v in value:
                conn.execute("INSERT INTO pt_child VALUES (%s, %s)", (row["k"], v))
        else:
            conn.execute(f"UPDATE pt_base SET {col.name} = %s WHERE k = %s", (pg_value(col, value), row["k"]))

    def day_of(self, row: dict) -> dt.date:
        d = row["d"]
        if isinstance(d, dt.datetime) and d.tzinfo is None:
            return d.date()
        if isinstance(d, dt.datetime):
            from zoneinfo import ZoneInfo
            return d.astimezone(ZoneInfo(self.zone)).date()
        return d


SMALLEST_NORMAL = {"double": 2.2250738585072014e-308, "real": 1.1754943508222875e-38}


def subnormal(case: Case) -> bool:
    """Whether a double or real of the case is subnormal: chDB's postgresql() cannot read one ("Cannot parse
    PostgreSQL value"), so such a table can only be pushed."""
    return any(c.kind in SMALLEST_NORMAL and r[c.name] and abs(r[c.name]) < SMALLEST_NORMAL[c.kind]
               for c in case.columns for r in case.rows)


def push_only(case: Case) -> bool:
    return subnormal(case) or any(c.push_only for c in case.columns)


def pg_value(col: Col, value):
    if value is None:
        return None
    if col.item is not None:   # sent as a text literal, cast to the column's type (psycopg cannot type [None])
        return "{" + ",".join("NULL" if e is None else '"' + str(pg_value(col.item, e)) + '"' for e in value) + "}"
    if col.kind == "numeric":
        return str(value)           # exact: psycopg would send a Decimal as numeric anyway
    if col.kind == "uuid":
        return str(value)
    return value


# -- what the sink holds -------------------------------------------------------------------------------------

def stored(col: Col, value, precision: int):
    """The value as the sink must hold it, in a form that compares by meaning: NULL kept apart on a
    nullable column and the type's zero otherwise, times at the sink's precision, doubles by their bits,
    numerics by their value, arrays as multisets in byte order."""
    if col.kind == "text[]":   # a NULL element reads as ''
        return sorted(("" if e is None else e for e in value or []), key=lambda s: s.encode())
    if col.item is not None:   # in order, NULL elements kept
        return [stored(col.item, e, precision) for e in value or []]
    if value is None:
        if col.nullable:
            return None
        value = decimal.Decimal(0) if col.kind == "numeric" else ZEROS[col.kind]
    if col.kind == "double":
        return struct.pack(">d", value).hex()
    if col.kind == "real":
        return struct.pack(">f", value).hex()
    if col.kind == "boolean":
        return int(value)
    if col.kind == "numeric":
        return decimal.Decimal(value)
    if col.kind == "uuid":
        return str(value)
    if col.kind == "jsonb":
        return JSONB[value]
    if col.kind in ("timestamptz", "timestamp"):
        value = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        return value.replace(microsecond=value.microsecond // 1000 * 1000 if precision == 3 else 0)
    return value


def from_sink(col: Col, value):
    """A value read back from the sink (Arrow, or the native driver), in `stored`'s form."""
    if value is None:
        return None
    if col.kind == "text[]":
        return sorted(value, key=lambda s: s.encode())
    if col.item is not None:
        return [from_sink(col.item, e) for e in value]
    if col.kind == "double":
        return struct.pack(">d", value).hex()
    if col.kind == "real":
        return struct.pack(">f", value).hex()
    if col.kind == "boolean":
        return int(value)
    if col.kind == "numeric":
        return decimal.Decimal(value)
    if col.kind == "uuid":
        return str(value)
    if col.kind == "bytea":   # read as hex
        return bytes.fromhex(value)
    if col.kind in ("timestamptz", "timestamp"):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if col.kind == "date" and isinstance(value, dt.datetime):
        return value.date()
    return value


# -- hostile values ---------------------------------------------------------------------------------------

HOSTILE_TEXT = ["", " ", "'", "''", "\\", "\\'", "\\N", "N", "NULL", "0:", "1:N", "a\nb", "\r\n", "\t", "\"", "%s",
                "$1", ":customer", "Ω≈ç√", "e\u0301", "é", "😀", "日本語", "\u00a0", "\u200b", "a,b", "{}", "[]", "Z",
                "a", "B", "ä", " trailing ", "x" * 300]
text = st.one_of(st.sampled_from(HOSTILE_TEXT),
                 st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=16))
DOUBLES = [0.0, -0.0, 0.1, 1e-7, 1e20, -1e20, 0.30000000000000004, 1 / 3, 5e-324, -5e-324, 2.2250738585072014e-308,
           1.7976931348623157e308, -1.7976931348623157e308, 9007199254740993.0, 123456789.125, float("inf"),
           float("-inf"), 1e16, 1e-5, 100.0]
# Times from the epoch (which 18.16 prints as its zero date) to 2105 (18.16's DateTime ends in 2106).
T0, T1 = dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(2105, 12, 31, tzinfo=dt.UTC)
EDGE_TIMES = [T0, T0 + dt.timedelta(microseconds=999), T1, dt.datetime(2000, 2, 29, 12, tzinfo=dt.UTC),
              dt.datetime(2026, 1, 20, 23, 59, 59, 999999, tzinfo=dt.UTC),
              dt.datetime(2026, 1, 21, 0, 0, 0, 999, tzinfo=dt.UTC),
              dt.datetime(2026, 1, 20, 0, 0, 0, 500, tzinfo=dt.UTC)]
SPAN = int((T1 - T0).total_seconds() * 1e6)
times = st.one_of(st.sampled_from(EDGE_TIMES), st.integers(0, SPAN).map(lambda us: T0 + dt.timedelta(microseconds=us)))
# Within what every sink prints: ClickHouse 18.16 prints a Date after 2105 as 1970-01-01 (and no sink holds
# one before 1970).
dates = st.one_of(st.sampled_from([dt.date(1970, 1, 1), dt.date(2105, 12, 31), dt.date(2000, 2, 29), DAYS[0]]),
                  st.dates(dt.date(1970, 1, 1), dt.date(2105, 12, 31)))
INT16, INT32, INT64 = (-(2**15), 2**15 - 1), (-(2**31), 2**31 - 1), (-(2**63), 2**63 - 1)
REALS = [0.0, -0.0, 1.5, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45,
         1.1754943508222875e-38, float("inf"), float("-inf"), 0.10000000149011612, 16777217.0]
BYTES = [b"", b"\x00", b"\xff\xfe", b"\x00\x00\x01", b"'\\", "é".encode(), b"\x80"]


def ints(lo: int, hi: int):
    return st.one_of(st.sampled_from([lo, hi, 0, -1, 1, lo + 1, hi - 1]), st.integers(lo, hi))


def numerics(precision: int, scale: int):
    """Values of numeric(precision, scale): trailing zeros, all digits, the largest, zero."""
    top = 10**precision - 1
    edges = [0, top, -top, 1, -1, 10**(precision - 1), 10**scale if scale < precision else 0]
    unscaled = st.one_of(st.sampled_from(edges), st.integers(-top, top),
                         st.integers(-(top // 10**min(scale, precision)), top // 10**min(scale, precision))
                         .map(lambda n: n * 10**scale))
    return unscaled.map(lambda n: decimal.Decimal(n).scaleb(-scale, decimal.Context(prec=60)))


def uuids():
    return st.one_of(st.sampled_from([uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]), st.uuids())


def values(col: Col, *, for_key: bool = False):
    """A strategy for the column's values (NULL where the sink can hold it or has a zero for it)."""
    kind = col.kind
    base = {
        "uuid": uuids(), "bigint": ints(*INT64), "int": ints(*INT32), "text": text, "boolean": st.booleans(),
        "date": dates, "timestamptz": times, "double": st.one_of(st.sampled_from(DOUBLES), st.floats(allow_nan=False)),
        "smallint": ints(*INT16), "timestamp": times.map(lambda t: t.replace(tzinfo=None)),
        "real": st.one_of(st.sampled_from(REALS), st.floats(allow_nan=False, width=32)),
        "bytea": st.one_of(st.sampled_from(BYTES), st.binary(max_size=12)), "json": st.sampled_from(JSONS),
        "jsonb": st.sampled_from(sorted(JSONB)), "inet": st.sampled_from(INETS), "time": st.sampled_from(TIMES),
        "interval": st.sampled_from(INTERVALS), "enum": st.sampled_from(ENUM_LABELS),
    }.get(kind)
    if kind == "numeric":
        base = numerics(col.precision, col.scale)
    if col.item is not None:
        items = st.lists(st.one_of(st.none(), values(col.item, for_key=True)), max_size=4)
        return st.one_of(st.none(), st.just([]), st.just([None]), items)
    if kind == "text[]":
        base = st.lists(st.one_of(text, st.sampled_from(["dup", "dup", "", "b", "B", "a", None])), max_size=5)
        return st.one_of(st.just([]), base, st.just(["dup", "dup"])) if col.child else \
            st.one_of(st.none(), st.just([]), base, st.just(["x", "x", ""]))
    assert base is not None, kind
    if for_key or not (col.nullable or col.has_zero):
        return base
    return st.one_of(st.none(), base)


def day_values(kind: str, zone: str):
    """The day column: times near the day boundaries of `zone` (both synced days), or the days themselves."""
    if kind == "date":
        return st.sampled_from(DAYS)
    if kind == "timestamp":
        return day_values("timestamptz", "UTC").map(lambda t: t.replace(tzinfo=None))
    from zoneinfo import ZoneInfo
    tz = ZoneInfo(zone)
    start = dt.datetime.combine(DAYS[0], dt.time(), tz).astimezone(dt.UTC)
    span = 2 * 86_400_000_000 - 1
    edges = [0, 999, 1000, 86_399_999_999, 86_400_000_000, 86_400_000_999, span, span - 500]
    return st.one_of(st.sampled_from(edges), st.integers(0, span)).map(lambda us: start + dt.timedelta(microseconds=us))


@st.composite
def columns(draw, i: int) -> Col:
    kind = draw(st.sampled_from(SCALARS))
    precision = scale = 0
    if kind == "numeric":
        precision = draw(st.one_of(st.sampled_from([1, 9, 10, 18, 19, 38]), st.integers(1, 38)))
        scale = draw(st.one_of(st.sampled_from([0, precision, min(2, precision)]), st.integers(0, precision)))
    return Col(f"c{i}", kind, draw(st.booleans()), precision, scale,
               low_cardinality=kind == "text" and draw(st.booleans()))


@st.composite
def cases(draw, max_rows: int = 6, max_columns: int = 6) -> Case:
    key = Col("k", draw(st.sampled_from(["uuid", "bigint", "int", "text"])))
    day = Col("d", draw(st.sampled_from(["timestamptz", "timestamptz", "timestamp", "date"])))
    version = Col("v", draw(st.sampled_from(["bigint", "int", "timestamptz", "timestamp", "date"])))
    others = [draw(columns(i)) for i in range(draw(st.integers(0, max_columns)))]
    if draw(st.booleans()):
        others.append(Col(f"c{len(others)}", "text[]"))                  # from an array expression
    if draw(st.booleans()):
        others.insert(draw(st.integers(0, len(others))), Col("kids", "text[]", child=True))
    if draw(st.booleans()):                                                 # an ordered array of another type
        item = draw(columns(len(others) + 100).filter(lambda c: c.kind in ARRAY_ITEMS))
        others.append(Col(f"c{len(others)}", f"{item.kind}[]", precision=item.precision, scale=item.scale))
    zone = draw(st.sampled_from(ZONES)) if day.kind == "timestamptz" else "UTC"
    n = draw(st.integers(1, max_rows))
    keys = draw(st.lists(values(key, for_key=True), min_size=n, max_size=n, unique_by=lambda v: str(v)))
    rows = []
    for k in keys:
        row = {"k": k, "d": draw(day_values(day.kind, zone)), "v": draw(values(version, for_key=True))}
        for c in others:
            row[c.name] = draw(values(c))
        rows.append(row)
    return Case(key, day, version, others, rows, zone)


@st.composite
def mutations(draw, case: Case, precision: int):
    """(row, column, new value): one value of one compared column (not the day: a row that moves days is
    stale, not changed) that the sink stores differently from the old one."""
    choices = [c for c in case.columns if c.name not in ("k", "d")]
    col = draw(st.sampled_from(choices))
    row = draw(st.sampled_from(case.rows))
    old = stored(col, row[col.name], precision)
    strategy = values(col, for_key=col is case.version)
    new = draw(strategy.filter(lambda v: stored(col, v, precision) != old))
    return row, col, new


def hard_case() -> Case:
    """One fixed case with the values that broke chsync once or could: Decimal128 numbers past 2^64, trailing
    zeros, 0.0 and -0.0, NULL next to '' / 0 / false, NULL array elements, quotes and backslashes in the key,
    times a microsecond from midnight in a +05:45 zone."""
    from zoneinfo import ZoneInfo
    tz = ZoneInfo("Asia/Kathmandu")
    midnight = dt.datetime.combine(DAYS[1], dt.time(), tz)
    others = [Col("c0", "numeric", True, 38, 11), Col("c1", "numeric", False, 12, 2), Col("c2", "double"),
              Col("c3", "double", True), Col("c4", "text", True), Col("c5", "text", low_cardinality=True),
              Col("c6", "boolean", True), Col("c7", "boolean"), Col("c8", "int"), Col("c9", "bigint", True),
              Col("c10", "uuid", True), Col("c11", "date", True), Col("c12", "timestamptz", True),
              Col("kids", "text[]", child=True), Col("c13", "text[]")]
    D = decimal.Decimal
    rows = [
        {"k": "o'neil\\", "d": midnight - dt.timedelta(microseconds=1), "v": 1,
         "c0": D("123456789012345678901234567.50000000000"), "c1": D("1.50"), "c2": 0.0, "c3": None, "c4": "",
         "c5": None, "c6": True, "c7": None, "c8": INT32[0], "c9": None, "c10": None, "c11": None, "c12": None,
         "kids": ["b", "a", "a", ""], "c13": [None, "x"]},
        {"k": "日本\n", "d": midnight, "v": 2, "c0": D("-99999999999999999999999999.99999999999"), "c1": None,
         "c2": -0.0, "c3": 0.0, "c4": None, "c5": "'", "c6": False, "c7": False, "c8": INT32[1], "c9": INT64[0],
         "c10": uuid.UUID(int=0), "c11": dt.date(1970, 1, 1),
         "c12": dt.datetime(2026, 1, 20, 23, 59, 59, 999999, tzinfo=dt.UTC), "kids": [], "c13": None},
        {"k": "", "d": midnight + dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999500), "v": 3,
         "c0": D("0E-11"), "c1": D("-0.10"), "c2": 0.1, "c3": 1e-7, "c4": "N", "c5": "\\N", "c6": None,
         "c7": True, "c8": 0, "c9": INT64[1], "c10": uuid.UUID(int=2**128 - 1), "c11": dt.date(2105, 12, 31),
         "c12": dt.datetime(2000, 2, 29, 12, 0, 0, 500, tzinfo=dt.UTC), "kids": ["dup", "dup", ""], "c13": []},
        {"k": "%s$1", "d": midnight - dt.timedelta(days=1), "v": 4, "c0": D("18446744073709551616.1"),
         "c1": D("9999999999.99"), "c2": 1e20, "c3": float("inf"), "c4": "😀", "c5": "a\nb", "c6": None, "c7": True,
         "c8": -1, "c9": None, "c10": None, "c11": DAYS[0], "c12": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
         "kids": [None], "c13": ["é", "e\u0301", "Z"]},
    ]
    return Case(Col("k", "text"), Col("d", "timestamptz"), Col("v", "bigint"), others, rows, "Asia/Kathmandu")


def every_type_case() -> Case:
    """One fixed case with a column of each type besides hard_case's, at their edges: a timestamp (without
    time zone) day and version, smallint bounds, real -0.0 / infinity / its largest, bytea that is empty,
    holds NUL or is not UTF-8, json kept as written, jsonb in another key order, inet, time, interval,
    enum labels with quotes, varchar(5) and char(3) (compared without the padding), and an ordered array
    of every element type with NULL elements."""
    others = [Col("c0", "smallint"), Col("c1", "real", True), Col("c2", "bytea", True), Col("c3", "json", True),
              Col("c4", "jsonb"), Col("c5", "inet", True), Col("c6", "time", True), Col("c7", "interval"),
              Col("c8", "enum", True), Col("c9", "text", declared="varchar(5)"), Col("c10", "text", declared="char(3)"),
              Col("c11", "timestamp", True), Col("c12", "int[]"), Col("c13", "timestamptz[]"),
              Col("c14", "numeric[]", precision=10, scale=2), Col("c15", "uuid[]"), Col("c16", "boolean[]"),
              Col("c17", "double[]"), Col("c18", "date[]"), Col("c19", "smallint[]"), Col("c20", "bigint[]")]
    t0 = dt.datetime(2026, 1, 20, 12, 0, 0, 123456, tzinfo=dt.UTC)
    arrays = [   # in order, with NULL elements and their bounds
        {"c12": [3, None, 1, INT32[0]], "c13": [t0, None], "c14": [decimal.Decimal("-99999999.99"), None],
         "c15": [uuid.UUID(int=0), None, uuid.UUID(int=2**128 - 1)], "c16": [True, None, False],
         "c17": [-0.0, float("inf"), None, 5e-324], "c18": [dt.date(1970, 1, 1), None], "c19": [INT16[1], None],
         "c20": [INT64[0], INT64[1]]},
        {"c12": [], "c13": [], "c14": [], "c15": [], "c16": [], "c17": [], "c18": [], "c19": [], "c20": []},
        {"c12": [None], "c13": None, "c14": [decimal.Decimal("0.10")], "c15": None, "c16": [None], "c17": [0.0],
         "c18": [dt.date(2105, 12, 31)], "c19": None, "c20": [0, 0]},
    ]
    day = dt.datetime.combine(DAYS[1], dt.time())
    jsonb = sorted(JSONB)
    rows = [
        {"k": 1, "d": day - dt.timedelta(microseconds=1), "v": day, "c0": INT16[0], "c1": -0.0, "c2": b"",
         "c3": JSONS[0], "c4": jsonb[0], "c5": "::1", "c6": TIMES[1], "c7": INTERVALS[2], "c8": "it's",
         "c9": "ab cd", "c10": "ab", "c11": dt.datetime(1970, 1, 1)},
        {"k": 2, "d": day, "v": day + dt.timedelta(microseconds=999), "c0": INT16[1], "c1": float("inf"),
         "c2": b"\x00\xff\x80'", "c3": JSONS[4], "c4": jsonb[-1], "c5": "10.0.0.0/8", "c6": None, "c7": INTERVALS[7],
         "c8": 'say "hi"', "c9": "", "c10": "", "c11": None},
        {"k": 3, "d": day + dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999), "v": day,
         "c0": 0, "c1": 3.4028234663852886e38, "c2": None, "c3": None, "c4": jsonb[1], "c5": None, "c6": TIMES[0],
         "c7": INTERVALS[0], "c8": None, "c9": "é😀", "c10": "x y", "c11": dt.datetime(2026, 1, 20, 12, 0, 0, 1500)},
    ]
    for row, extra in zip(rows, arrays):
        row.update(extra)
    return Case(Col("k", "bigint"), Col("d", "timestamp"), Col("v", "timestamp"), others, rows, "UTC")
