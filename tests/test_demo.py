"""`chsync demo` tells the seed's story end to end on the embedded default."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import psycopg
import pytest
from mdtables import missing_images
from report_expect import demo_tables, mismatches
from schema_check import assert_valid
from test_report_files import assert_drawn_svg

from chsync.demo import daily
from chsync.report.html import SEED_BACKFILL

ACT1_CHARTS = ["daily-volume.svg", "duplicates.svg", "stale-reasons.svg", "timeline.svg", "usecases.svg"]
ACT2_CHARTS = ["daily-job-days.svg", "daily-job-fixed.svg", "daily-job-runs.svg"]


def test_demo_small_scale(tmp_path):
    workdir = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "chsync", "demo", "--scale", "0.01", "--workdir", str(workdir),
                           "--json"], capture_output=True, text=True, timeout=600)
    try:
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        before, after = doc["before"], doc["after"]
        assert not before["in_sync"] and before["sink"]["duplicate_keys"] > 0
        assert_valid(doc, "chsync demo --json")
        assert before["totals"]["stale"] > 0 and before["totals"]["changed"] > 0
        assert after["in_sync"] and after["sink"]["duplicate_keys"] == 0
        assert after["sink"]["distinct"] == after["source"]["rows"] == after["sink"]["rows"]
        assert [s["step"].split(" ")[0] for s in doc["timeline"]] == ["Start", "Generate", "Scope", "Sync", "Verify"]
        report = (workdir / "report.md").read_text()
        for section in ("## Data Volume Summary", "## Daily Volume", "## Usecase Distribution", "## Timeline",
                        "## Results", "**Verify: in sync"):
            assert section in report
        assert f"| {before['sink']['rows']:,} | {after['sink']['rows']:,} |" in report
        assert json.loads((workdir / "report.json").read_text()) == doc
        assert mismatches(report, demo_tables(doc, SEED_BACKFILL)) == []
        charts = sorted(p.name for p in (workdir / "charts").glob("*.svg"))
        assert charts == sorted(ACT1_CHARTS + ACT2_CHARTS)
        for name in charts:
            assert_drawn_svg(workdir / "charts" / name)
            assert f"](charts/{name})" in report
        assert missing_images(workdir / "report.md") == []
        page = (workdir / "report.html").read_text()
        assert "<script" not in page and "Backfill timeline" in page and f"{after['sink']['rows']:,}" in page
    finally:
        subprocess.run([sys.executable, "-m", "chsync", "embedded", "down", "--workdir", str(workdir)],
                       capture_output=True, timeout=120)


def chsync(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chsync", *args], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`chsync demo` as a newcomer runs it (no --json): its printed output and the report.json it wrote."""
    workdir = tmp_path_factory.mktemp("act2") / "demo dir"    # a space: the printed commands must quote it
    done = chsync("demo", "--scale", "0.02", "--workdir", str(workdir), timeout=600)
    try:
        assert done.returncode == 0, done.stderr
        yield workdir, done.stdout, json.loads((workdir / "report.json").read_text())
    finally:
        chsync("embedded", "down", "--workdir", str(workdir), timeout=120)


def test_act2_each_night_heals_exactly_the_days_postgres_changed(demo_run):
    workdir, out, doc = demo_run
    act2 = doc["act2"]
    runs = act2["runs"]
    assert [r["day"] for r in runs] == [f"2026-02-{d}" for d in range(19, 26)]
    kinds = set()
    for r in runs:
        sync = r["sync"]
        day = r["day"]
        assert sync["days"][0]["day"] <= day and day in [d["day"] for d in sync["days"]]   # the new day synced
        # the week before the day, and the SWEEP days of the history proven longest ago
        assert len(sync["checked"]) == daily.LOOKBACK + daily.SWEEP and sync["checked"][-1] < day
        assert len(sync["swept"]) == daily.SWEEP and set(sync["swept"]) <= set(sync["checked"])
        assert all(c["day"] in sync["checked"] and c["rows"] > 0 for c in r["changes"])
        # the drifted days, and the healed ones, are exactly the days Postgres changed before the run
        assert sync["drifted"] == r["changed_days"], day
        assert sorted(h["day"] for h in sync["healed"]) == r["changed_days"], day
        assert sync["left"] == [] and sync["refused"] == [] and r["as_expected"]
        kinds |= {c["kind"] for c in r["changes"]}
        for h in sync["healed"]:
            changes = [c for c in r["changes"] if c["day"] == h["day"]]
            assert h["stale"] + h["changed"] == sum(c["rows"] for c in changes), (day, h, changes)
            assert h["changed"] == sum(c["rows"] for c in changes if c["kind"] == "labels")
        line = (f"  day {r['run']} ({day}): checked {daily.LOOKBACK + daily.SWEEP} days ({daily.SWEEP} swept), "
                f"{len(sync['drifted'])} drifted, healed {len(sync['healed'])} ")
        assert line in out
    assert kinds == {"dev_user", "ended_at_reset", "labels", "deleted"}
    assert [r["changed_days"] for r in runs].count([]) == 1           # one quiet night
    # night 2: a day weeks before the lookback changed, found by that night's sweep and healed
    old = [c for c in runs[1]["changes"] if c["day"] not in runs[1]["sync"]["checked"][-daily.LOOKBACK:]]
    assert len(old) == 1 and old[0]["day"] in runs[1]["sync"]["swept"] and "for the sweep to find" in old[0]["what"]
    verify = act2["verify"]
    assert verify["in_sync"] and act2["as_expected"]
    assert (verify["from"], verify["to"], len(verify["days"])) == ("2026-01-01", "2026-02-25", 56)
    assert verify["sink"]["distinct"] == verify["sink"]["rows"] == verify["source"]["rows"]
    assert f"verify 2026-01-01 – 2026-02-25: in sync (56 days, {verify['source']['rows']:,} conversations)" in out

    report = (workdir / "report.md").read_text()
    assert "## Act 2: the daily job that heals itself" in report
    assert mismatches(report, demo_tables(doc, SEED_BACKFILL)) == []
    for name in ACT2_CHARTS:
        assert_drawn_svg(workdir / "charts" / name)
        assert f"](charts/{name})" in report
    assert missing_images(workdir / "report.md") == []
    assert "**Verify 2026-01-01 – 2026-02-25: in sync" in report
    page = (workdir / "report.html").read_text()
    assert 'id="daily-job"' in page and "Each run of the daily job" in page and "<script" not in page


def test_the_demo_ends_saying_how_to_explore_and_stop_its_postgres_and_the_stop_command_stops_it(demo_run):
    workdir, out, doc = demo_run
    tail = out[out.index("The demo's Postgres is still running"):].splitlines()
    psql, explore, stop = tail[1].strip(), tail[2].strip(), tail[4].strip()
    assert tail[3] == "Stop it:" and stop == f"chsync embedded down --workdir {shlex.quote(str(workdir))}"
    url = doc["source"]
    assert psql == f"psql {url}" and ":" not in url.split("//", 1)[1].split("@")[0]   # no password shown
    psycopg.connect(url, connect_timeout=5).close()                                 # running, as it says

    # the explore line, as a shell runs it (`chsync` being this checkout's)
    shell = f'chsync() {{ "{sys.executable}" -m chsync "$@"; }}\n{explore}'
    explored = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=300)
    assert explored.returncode == 0, explored.stderr
    assert explored.stdout.startswith("in sync: 56 day(s)")

    stopped = chsync(*shlex.split(stop)[1:], timeout=120)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped", stopped.stderr
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5).close()
    assert chsync("embedded", "status", "--workdir", str(workdir), timeout=60).stdout.strip() == "not running"
