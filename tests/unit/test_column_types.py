"""The declarable column types and the existing sink column types that hold them, without a database."""

from __future__ import annotations

import pytest

from chsync.errors import BadInput
from chsync.sink.canonical import accepts, ch_type, expected
from chsync.spec.model import Column
from chsync.spec.types import parse_type


@pytest.mark.parametrize("text, kind", [
    ("smallint", "smallint"), ("int2", "smallint"), ("real", "real"), ("float4", "real"),
    ("timestamp", "timestamp"), ("timestamp without time zone", "timestamp"), ("bytea", "bytea"),
    ("json", "json"), ("JSONB", "jsonb"), ("inet", "inet"), ("time", "time"), ("interval", "interval"),
    ("enum", "enum"), ("varchar(5)", "text"), ("character varying (255)", "text"), ("char(3)", "text"),
    ("int[]", "int[]"), ("integer[]", "int[]"), ("timestamp with time zone[]", "timestamptz[]"),
    ("numeric(12,2)[]", "numeric[]"), ("varchar(5)[]", "text[]"), ("uuid[]", "uuid[]"),
])
def test_a_postgres_type_name_declares_its_kind(text, kind):
    assert parse_type(text, "c").kind == kind


@pytest.mark.parametrize("text, message", [
    ("int[][]", "multidimensional array"),
    ("timestamptz(3)", "declare it without (p)"),
    ("money", "unknown type 'money'"),
    ("numeric", "numeric needs a precision and scale"),
    ("jsonb[]", "arrays of jsonb are not compared yet"),
])
def test_a_type_chsync_cannot_compare_is_one_line_naming_it(text, message):
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_type(text, "columns.c")


def _col(type_text: str, nullable: bool = False) -> Column:
    return Column("c", parse_type(type_text, "c"), "t.c", nullable)


@pytest.mark.parametrize("declared, found", [
    ("smallint", "Int16"), ("smallint", "Int32"), ("smallint", "Int64"), ("int", "Int64"), ("real", "Float32"),
    ("real", "Float64"), ("numeric(18,4)", "Decimal(20, 4)"), ("numeric(18,4)", "Decimal128(4)"),
    ("numeric(9,2)", "Decimal(9, 2)"), ("enum", "Enum8('a' = 1, 'b' = 2)"), ("enum", "String"),
    ("jsonb", "LowCardinality(String)"), ("boolean", "Bool"), ("bytea", "String"), ("int", "Nullable(Int64)"),
    ("timestamptz[]", "Array(Nullable(DateTime('UTC')))"), ("timestamptz[]", "Array(Nullable(DateTime64(6)))"),
    ("smallint[]", "Array(Nullable(Int64))"),
])
def test_an_existing_wider_sink_type_is_adopted(declared, found):
    assert accepts(_col(declared), found)


@pytest.mark.parametrize("declared, found", [
    ("int", "Int16"), ("bigint", "Int32"), ("double", "Float32"), ("numeric(18,4)", "Decimal(18, 2)"),
    ("numeric(18,4)", "Decimal(12, 4)"), ("numeric(20,4)", "Decimal64(4)"), ("smallint", "UInt16"),
    ("int[]", "Array(Int32)"), ("int[]", "Array(Nullable(Int16))"),
])
def test_a_narrower_sink_type_is_refused(declared, found):
    assert not accepts(_col(declared), found)


def test_the_types_chsync_creates_are_the_narrowest_exact_ones():
    assert [ch_type(_col(t), 3, True) for t in ("smallint", "real", "bytea", "jsonb", "timestamp")] == \
        ["Int16", "Float32", "String", "String", "DateTime64(3, 'UTC')"]
    assert expected(_col("numeric(18,4)")) == "Decimal(P, 4) with P >= 18"
    assert [ch_type(_col(t), 0, True) for t in ("int[]", "numeric(12,2)[]", "timestamptz[]", "text[]")] == \
        ["Array(Nullable(Int32))", "Array(Nullable(Decimal(12, 2)))", "Array(Nullable(DateTime('UTC')))",
         "Array(String)"]
    assert str(parse_type("numeric(12,2)[]", "c")) == "numeric(12,2)[]"


def test_a_tables_clauses_are_read_from_its_engine_full():
    from chsync.sink.ddl import engine_clause
    engine = ("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}', v) "
              "PARTITION BY toYYYYMMDD(at) ORDER BY (id, at) SETTINGS index_granularity = 8192")
    assert engine_clause(engine, "PARTITION BY") == "toYYYYMMDD(at)"
    assert engine_clause(engine, "ORDER BY") == "(id, at)"
    assert engine_clause("Distributed(c, db, t, rand())", "ORDER BY") == ""
