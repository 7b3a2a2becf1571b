"""A password given in the source DSN never appears in output, plans, reports or the journal."""

from __future__ import annotations

import datetime as dt
import json

from builders import World

PASSWORD = "S3cr3t-pw-Zq9"
RANGE = ("--from", "2026-01-20", "--to", "2026-01-21")


def test_password_never_leaks_through_a_whole_backfill(env, tmp_path):
    with env.pg() as conn:
        w = World(conn)
        ids = w.add(dt.date(2026, 1, 20), n=12) + w.add(dt.date(2026, 1, 21), n=9)
        conn.execute(f"CREATE ROLE chsync_reader LOGIN PASSWORD '{PASSWORD}' SUPERUSER")
    env.source = env.source.replace("postgres@", f"chsync_reader:{PASSWORD}@")
    outputs = []

    def run(*args, expect=0):
        done = env.cli(*args)
        assert done.returncode == expect, done.stderr
        outputs.extend([done.stdout, done.stderr])
        return done

    run("init")
    run("sync", *RANGE)
    with env.pg() as conn:
        conn.execute("UPDATE conversations SET usecase_id = 'uc-chat' WHERE id = ANY(%s::uuid[])", (ids[:3],))
    run("scope", *RANGE, "--out", str(tmp_path / "scope"))
    run("diff", *RANGE, expect=1)
    run("plan", *RANGE, "--out", str(tmp_path / "plan.json"))
    run("backfill", "--plan", str(tmp_path / "plan.json"), "--yes", "--json")
    run("verify", *RANGE, "--json")
    run("runs", "--json")
    run("--source", f"postgresql://chsync_reader:{PASSWORD}@127.0.0.1:1/x", "verify", *RANGE, expect=4)
    run("--source", f"postgresql://chsync_reader:{PASSWORD}@127.0.0.1:1/x", "--sink", "nope://x", "init", expect=2)

    files = [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert any("plan.json" in str(p) for p in tmp_path.rglob("*")) and (tmp_path / "scope" / "scope.md").exists()
    with env.sink() as sink:
        journal = json.dumps([sink.rows(f"SELECT * FROM {sink.db}.{t}")
                              for t in ("chsync_runs", "chsync_journal", "chsync_locks")], default=str)
    for text in outputs + files + [journal]:
        assert PASSWORD not in text
    assert any("***" in o for o in outputs), "the failing DSN is shown, masked"
