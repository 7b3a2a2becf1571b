"""Every number in the Markdown report's tables is the JSON document's (thousands separators stripped)."""

from __future__ import annotations

import json

from report_expect import mismatches, scope_tables
from test_report_html import scope_doc

from chsync.report.markdown import scope_markdown


def test_scope_md_tables_are_the_json_numbers(scope_report):
    out, doc = scope_report.out, scope_report.doc
    assert json.loads((out / "scope.json").read_text()) == doc
    assert not doc["in_sync"] and doc["totals"]["stale"] and doc["sink"]["duplicate_keys"]
    assert mismatches((out / "scope.md").read_text(), scope_tables(doc)) == []


def test_a_wrong_number_is_caught():
    doc = scope_doc()
    page = scope_markdown(doc)
    assert mismatches(page, scope_tables(doc)) == []
    day = doc["days"][3]
    wrong = page.replace(f"| {day['day']} | {day['source']:,} |", f"| {day['day']} | {day['source'] + 1:,} |")
    assert wrong != page
    assert mismatches(wrong, scope_tables(doc)) == [
        f"Day / {day['day']} / Postgres (filter): '{day['source'] + 1:,}', expected [{day['source']}]"]
    dropped = page.replace("| cargo |", "| freight |")
    assert any("cargo" in m for m in mismatches(dropped, scope_tables(doc)))
