"""The alerting rules are valid for Prometheus, fire exactly when their unit tests say (promtool), use
only metrics chsync writes, and each one tells the person it wakes what happened and where."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from metrics_expect import golden, sync_with_lookback

from chsync.report.metrics import registry_for

ALERTS = Path(__file__).parent.parent / "docs" / "alerts"
RULES = ALERTS / "chsync.rules.yml"
RULE_TESTS = ALERTS / "chsync.rules.test.yml"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool(*args: str | Path) -> subprocess.CompletedProcess:
    if not Path(PROMTOOL).exists():
        pytest.skip("promtool not installed: apt-get install prometheus (scripts/test.sh does when it may use apt)")
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=300)


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def rule_tests() -> dict:
    return yaml.safe_load(RULE_TESTS.read_text())


def test_promtool_accepts_the_rule_file():
    done = promtool("check", "rules", RULES)
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_the_alerts_fire_as_their_unit_tests_say():
    done = promtool("test", "rules", RULE_TESTS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_unit_tests_catch_a_changed_threshold(tmp_path):
    """A rule that waits 28 h instead of 26 h must fail its test, or the tests prove nothing."""
    (tmp_path / RULES.name).write_text(RULES.read_text().replace("> 26 * 3600", "> 28 * 3600"))
    tests = rule_tests()
    tests["tests"] = [group for group in tests["tests"]
                      if any(t["alertname"] == "ChsyncDailySyncNotRun" for t in group["alert_rule_test"])]
    (tmp_path / RULE_TESTS.name).write_text(yaml.safe_dump(tests))
    done = promtool("test", "rules", tmp_path / RULE_TESTS.name)
    assert done.returncode != 0 and "ChsyncDailySyncNotRun" in done.stdout + done.stderr, done.stdout + done.stderr


def test_every_alert_is_proven_to_fire_and_to_stay_quiet():
    cases = [t for group in rule_tests()["tests"] for t in group["alert_rule_test"]]
    for rule in rules():
        name = rule["alert"]
        assert any(t["alertname"] == name and t["exp_alerts"] for t in cases), f"{name} never fires in a test"
        assert any(t["alertname"] == name and not t["exp_alerts"] for t in cases), f"{name} never stays quiet"


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule["alert"])
def test_every_alert_waits_has_a_severity_and_says_which_table(rule):
    assert rule.get("for"), "without `for`, one bad scrape pages"
    assert rule["labels"]["severity"] in ("critical", "warning")
    notes = rule["annotations"]
    assert notes["summary"] and notes["description"] and notes["runbook"]
    if "absent(" not in rule["expr"]:  # absent() has no table to name
        assert all("$labels.table" in notes[k] and "$labels.customer" in notes[k] for k in ("summary", "description"))


def test_the_rules_use_only_metrics_chsync_writes():
    written = set()
    for command, doc in (("sync", sync_with_lookback()), ("verify", golden("verify-before.json"))):
        registry = registry_for(command, doc, table="t", customer="c", ended_at=1.0, duration=1.0, success=True,
                                last_in_sync=0.0)
        written |= {family.name for family in registry.collect()}
    used = {word for rule in rules() for word in _words(rule["expr"]) if word.startswith("chsync_")}
    assert used and used <= written, f"not written by chsync: {sorted(used - written)}"


def _words(expr: str) -> list[str]:
    return "".join(c if c.isalnum() or c == "_" else " " for c in expr).split()
