"""A value the sink cannot hold exactly is never changed silently: a numeric with more digits than the
spec declares (Postgres's column has no precision), a date before 1970. The day that holds it fails with
exit 4 naming the key, the column and the value, and is left as it was; the days before it are done."""

from __future__ import annotations

import pytest

SPEC = """
[table]
key = "id"
day = "d"
version = "v"
[source]
from = "public.amounts t"
[columns]
id = { sql = "t.id", type = "bigint" }
d = { sql = "t.d", type = "date" }
amount = { sql = "t.amount", type = "numeric(6,2)" }
since = { sql = "t.since", type = "date", nullable = true }
v = { sql = "t.v", type = "bigint" }
[sink]
database = "amounts"
table = "amounts"
"""
SETUP = """
CREATE TABLE public.amounts (id bigint PRIMARY KEY, d date NOT NULL, amount numeric, since date, v bigint NOT NULL);
INSERT INTO amounts VALUES (1, '2026-01-20', 12.5, '2000-01-01', 1), (2, '2026-01-21', 1.25, NULL, 1),
                           (3, '2026-01-22', 3, NULL, 1);
"""


@pytest.fixture
def amounts(env, tmp_path):
    with env.pg() as conn:
        conn.execute(SETUP)
    env.config = str(tmp_path / "amounts.toml")
    (tmp_path / "amounts.toml").write_text(SPEC)
    env.cli("init", check=True)
    env.cli("sync", "--from", "2026-01-20", "--to", "2026-01-22", check=True)
    return env


def _held(env) -> dict:
    with env.sink() as sink:
        return {r[0]: str(r[1]) for r in sink.rows("SELECT id, toString(amount) FROM amounts.amounts ORDER BY id")}


@pytest.mark.parametrize("update, named", [
    ("UPDATE amounts SET amount = 1.255, v = 2 WHERE id = 2", "id 2: column amount (numeric(6,2)) holds 1.255"),
    ("UPDATE amounts SET amount = 12345.5, v = 2 WHERE id = 2", "id 2: column amount (numeric(6,2)) holds 12345.5"),
    ("UPDATE amounts SET since = '1969-12-31', v = 2 WHERE id = 2", "id 2: column since (date) holds 1969-12-31"),
])
def test_a_value_the_sink_cannot_hold_fails_its_day_naming_it(amounts, update, named):
    before = _held(amounts)
    with amounts.pg() as conn:
        conn.execute(update)
        conn.execute("UPDATE amounts SET amount = 99.99, v = 2 WHERE id = 1")   # the day before: a real change
    done = amounts.cli("sync", "--from", "2026-01-20", "--to", "2026-01-22")
    assert done.returncode == 4, done.stderr
    assert f"2026-01-21: {named}" in done.stderr and "cannot store exactly" in done.stderr, done.stderr
    held = _held(amounts)
    assert held[1] == "99.99"                 # the day before it: done
    assert held[2] == before[2] == "1.25"     # its own day: as it was
