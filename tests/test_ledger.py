"""Every day of the history proven: the ledger records when each day was last proven equal to Postgres
(sync, its lookback, a backfill, verify), `sync --sweep K` proves the days proven longest ago, so a change
older than the lookback is found and healed within ceil(days / K) nights, and `chsync history` shows every
day (JSON, and a calendar checked in a real browser)."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from builders import World
from prometheus_client.parser import text_string_to_metric_families
from test_report_html import browser  # noqa: F401 - the module-scoped chromium fixture

FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 2, 18)
HISTORY = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
LOOKBACK, SWEEP = 7, 7


@pytest.fixture
def history(env):
    """49 days of a few conversations each, synced: every day proven once."""
    with env.pg() as conn:
        w = World(conn)
        env.ids = {day: w.add(day, n=3, second=3600) for day in HISTORY}
    env.cli("init", check=True)
    env.cli("sync", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), check=True)
    return env


def _history(env) -> dict:
    return env.cli_json("history")


def test_every_write_and_check_is_recorded_in_the_ledger(history):
    doc = _history(history)
    assert [d["day"] for d in doc["days"]] == [d.isoformat() for d in HISTORY]
    assert {d["state"] for d in doc["days"]} == {"proven"} and doc["days_never_proven"] == 0
    assert [d["rows"] for d in doc["days"]] == [3] * len(HISTORY)

    with history.pg() as conn:   # a day drifts; verify finds it, the daily job's lookback heals it
        conn.execute("UPDATE conversations SET ended_at = NULL WHERE id = %s", (history.ids[HISTORY[-3]][0],))
    assert history.cli("verify", "--from", HISTORY[-3].isoformat(), "--to", HISTORY[-3].isoformat()).returncode == 1
    assert {d["day"]: d["state"] for d in _history(history)["days"]}[HISTORY[-3].isoformat()] == "drifted"
    done = history.cli_json("sync", "--day", LAST.isoformat(), "--lookback", "3")
    assert done["drifted"] == [HISTORY[-3].isoformat()]
    day = {d["day"]: d for d in _history(history)["days"]}[HISTORY[-3].isoformat()]
    assert day["state"] == "healed" and day["rows"] == 2 and day["last_healed"] and day["last_drift"]


def test_the_sweep_heals_a_change_older_than_the_lookback_within_the_promised_nights(history, tmp_path):
    old = LAST - dt.timedelta(days=40)
    with history.pg() as conn:   # an agent flagged as a dev user, 40 days back
        conn.execute("INSERT INTO users (id, customer_id, is_dev_user) VALUES ('dev-late', 'alaska-air', true)")
        conn.execute("UPDATE conversations SET agent_user_id = 'dev-late' WHERE id = %s", (history.ids[old][1],))
    candidates = len(HISTORY) - LOOKBACK     # the days before the first night's lookback
    promised = math.ceil(candidates / SWEEP)
    swept: set[str] = set()
    for night in range(1, promised + 1):
        day = LAST + dt.timedelta(days=night - 1)
        metrics = tmp_path / f"night{night}.prom"
        done = history.cli_json("sync", "--day", day.isoformat(), "--lookback", str(LOOKBACK),
                                "--sweep", str(SWEEP), "--metrics-file", str(metrics))
        assert len(done["swept"]) == SWEEP and not swept & set(done["swept"]), "a day swept twice"
        swept |= set(done["swept"])
        if old.isoformat() in done["drifted"]:
            break
    else:
        pytest.fail(f"{old} not healed within {promised} nights")
    assert [h["day"] for h in done["healed"]] == [old.isoformat()]
    assert done["healed"][0]["stale_reasons"] == {"dev_user": 1} | {
        k: 0 for k in done["healed"][0]["stale_reasons"] if k != "dev_user"}
    samples = {s.name: s.value for f in text_string_to_metric_families(metrics.read_text()) for s in f.samples}
    assert samples["chsync_days_never_proven"] == done["days_never_proven"] == 0
    assert 0 < samples["chsync_oldest_proof_age_seconds"] == pytest.approx(done["oldest_proof_age_seconds"])
    assert history.cli("verify", "--from", FIRST.isoformat(), "--to", LAST.isoformat()).returncode == 0


def test_the_sweep_picks_never_proven_days_first(env):
    with env.pg() as conn:
        World(conn).add(HISTORY[0], n=2, second=3600)
        World.attach(conn).add(HISTORY[-1], n=2, second=3600)
    env.cli("init", check=True)
    env.cli("sync", "--day", HISTORY[0].isoformat(), check=True)   # the sink's history starts here
    done = env.cli_json("sync", "--day", LAST.isoformat(), "--lookback", "1", "--sweep", "5", "--dry-run")
    assert done["swept"] == [d.isoformat() for d in HISTORY[1:6]], "never proven, earliest first"
    assert done["days_never_proven"] == len(HISTORY) - 1 and done["left"] == []


def test_sweep_without_a_day_is_bad_input(env):
    done = env.cli("sync", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--only-drifted", "--sweep", "3")
    assert done.returncode == 2 and "--sweep goes with --day" in done.stderr


CALENDAR_JS = """JSON.stringify({
  months: [...document.querySelectorAll('table.cal')].map(t => t.getAttribute('aria-label')),
  cells: Object.fromEntries(['fresh', 'recent', 'old', 'healed', 'drifted', 'never'].map(c =>
    [c, [...document.querySelectorAll('table.cal td.' + c)].filter(td => {
      const r = td.getBoundingClientRect(); return r.width > 8 && r.height > 8; }).length])),
  coloured: [...document.querySelectorAll('table.cal td.drifted')].map(td => getComputedStyle(td).backgroundColor),
  titles: [...document.querySelectorAll('table.cal td[title]')].length,
  scripts: document.scripts.length})"""


def test_history_html_is_a_calendar_of_every_day_in_chromium(history, browser, tmp_path):  # noqa: F811
    with history.pg() as conn:
        conn.execute("UPDATE conversations SET ended_at = NULL WHERE id = %s", (history.ids[HISTORY[5]][0],))
    history.cli("verify", "--from", HISTORY[5].isoformat(), "--to", HISTORY[5].isoformat())
    page = tmp_path / "history.html"
    doc = json.loads(history.cli("history", "--json", "--html", str(page), check=True).stdout)
    assert page.exists() and doc["days_in_history"] == len(HISTORY)

    target = browser.call("Target.createTarget", {"url": page.as_uri()})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    browser.call("Runtime.enable", session=session)
    for _ in range(50):   # until the page has loaded
        found = json.loads(browser.call("Runtime.evaluate", {"expression": CALENDAR_JS, "returnByValue": True},
                                        session=session)["result"]["value"])
        if found["months"]:
            break
    browser.call("Target.closeTarget", {"targetId": target})
    assert found["months"] == ["2026-01", "2026-02"] and found["scripts"] == 0
    assert found["cells"] == {"fresh": len(HISTORY) - 1, "recent": 0, "old": 0, "healed": 0, "drifted": 1,
                              "never": 0}
    assert found["coloured"] == ["rgb(207, 34, 46)"] and found["titles"] == len(HISTORY)
