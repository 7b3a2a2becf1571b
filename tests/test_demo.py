"""`chsync demo` tells the seed's story end to end on the embedded default."""

from __future__ import annotations

import json
import subprocess
import sys

from mdtables import missing_images
from report_expect import demo_tables, mismatches
from test_report_files import assert_drawn_svg

from chsync.report.html import SEED_BACKFILL


def test_demo_small_scale(tmp_path):
    workdir = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "chsync", "demo", "--scale", "0.01", "--workdir", str(workdir),
                           "--json"], capture_output=True, text=True, timeout=600)
    try:
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        before, after = doc["before"], doc["after"]
        assert not before["in_sync"] and before["sink"]["duplicate_conversations"] > 0
        assert before["totals"]["stale"] > 0 and before["totals"]["changed"] > 0
        assert after["in_sync"] and after["sink"]["duplicate_conversations"] == 0
        assert after["sink"]["distinct"] == after["source"]["conversations"] == after["sink"]["rows"]
        assert [s["step"].split(" ")[0] for s in doc["timeline"]] == ["Start", "Generate", "Scope", "Sync", "Verify"]
        report = (workdir / "report.md").read_text()
        for section in ("## Data Volume Summary", "## Daily Volume", "## Usecase Distribution", "## Timeline",
                        "## Results", "**Verify: in sync"):
            assert section in report
        assert f"| {before['sink']['rows']:,} | {after['sink']['rows']:,} |" in report
        assert json.loads((workdir / "report.json").read_text()) == doc
        assert mismatches(report, demo_tables(doc, SEED_BACKFILL)) == []
        charts = sorted(p.name for p in (workdir / "charts").glob("*.svg"))
        assert charts == ["daily-volume.svg", "duplicates.svg", "stale-reasons.svg", "timeline.svg", "usecases.svg"]
        for name in charts:
            assert_drawn_svg(workdir / "charts" / name)
            assert f"](charts/{name})" in report
        assert missing_images(workdir / "report.md") == []
        page = (workdir / "report.html").read_text()
        assert "<script" not in page and "Backfill timeline" in page and f"{after['sink']['rows']:,}" in page
    finally:
        subprocess.run([sys.executable, "-m", "chsync", "embedded", "down", "--workdir", str(workdir)],
                       capture_output=True, timeout=120)
