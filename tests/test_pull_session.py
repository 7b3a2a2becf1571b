"""Pull mode does not depend on the source database's session defaults: a database whose sessions start
with DateStyle 'SQL, DMY', another time zone and fewer float digits is pulled as it is pushed (chDB's
postgresql() connects with those defaults unless chsync sets its own)."""

from __future__ import annotations

from spec_cases import DAYS, hard_case

RANGE = ("--from", DAYS[0].isoformat(), "--to", DAYS[1].isoformat())


def test_pull_ignores_the_databases_date_style_time_zone_and_float_digits(env, tmp_path, monkeypatch):
    for name in ("PGDATESTYLE", "PGTZ", "PGOPTIONS"):   # an in-process pull of another test may have set them
        monkeypatch.delenv(name, raising=False)
    with env.pg() as conn:
        for setting in ("DateStyle = 'SQL, DMY'", "TimeZone = 'Pacific/Chatham'", "extra_float_digits = 0"):
            conn.execute(f"ALTER DATABASE {env.db} SET {setting}")
    case = hard_case()
    case.rows[1]["c3"] = 0.30000000000000004   # 0.3 in 15 digits
    with env.pg() as conn:
        case.create(conn)
    env.config = case.write_spec(tmp_path / "hard.toml", "hard")
    env.cli("init", check=True)
    done = env.cli_json("sync", *RANGE, "--mode", "pull")
    assert done["mode"] == "pull" and [d["rows_written"] for d in done["days"]] == [2, 2]
    assert env.cli_json("verify", *RANGE)["in_sync"]
    with env.pg() as conn:
        case.update(conn, case.rows[0], case.others[0], case.rows[0]["c0"] + 1)
    pulled = env.cli_json("diff", *RANGE, "--mode", "pull", expect=1)
    pushed = env.cli_json("diff", *RANGE, "--mode", "push", expect=1)
    assert pulled["samples"]["changed"] == pushed["samples"]["changed"] == [{"id": "o'neil\\", "columns": ["c0"]}]
