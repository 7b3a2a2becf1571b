"""The metrics of a run, written as a textfile-collector file and read back: every value is the
document's number, every sample is a labelled gauge, and the file is only ever replaced whole."""

from __future__ import annotations

import os

import pytest
from metrics_expect import backfill_with_a_skipped_day, expected_drift, golden, parse, sync_with_lookback
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from chsync.report.metrics import registry_for, write_textfile

TABLE = "conversation_with_labels"
ENDED_AT = 1_771_400_000.5
DURATION = 42.25
EARLIER = 1_771_000_000.0


def sync_with_an_unhealed_day() -> dict:
    doc = sync_with_lookback()
    doc["drifted"].append("2026-01-30")
    return doc


CASES = {  # name: (command, document, whether the run ended in sync)
    "sync": ("sync", lambda: golden("sync.json"), True),
    "sync-lookback": ("sync", sync_with_lookback, True),
    "sync-lookback-unhealed": ("sync", sync_with_an_unhealed_day, False),
    "verify-before": ("verify", lambda: golden("verify-before.json"), False),
    "verify-after": ("verify", lambda: golden("verify-after.json"), True),
    "scope": ("scope", lambda: golden("scope.json"), False),
    "backfill-swap": ("backfill", lambda: golden("backfill-swap.json"), True),
    "backfill-skip": ("backfill", backfill_with_a_skipped_day, True),
}


def run_metrics(command: str, doc: dict | None, *, customer: str | None = "alaska-air", success: bool = True,
                last_in_sync: float | None = None):
    return registry_for(command, doc, table=TABLE, customer=customer, ended_at=ENDED_AT, duration=DURATION,
                        success=success, last_in_sync=last_in_sync)


def read_back(tmp_path, registry):
    path = tmp_path / "chsync.prom"
    write_textfile(path, registry)
    return parse(path.read_text())


@pytest.mark.parametrize("case", CASES)
def test_every_value_is_the_documents_number_on_a_labelled_gauge(tmp_path, case):
    command, make, in_sync = CASES[case]
    doc = make()
    values, types, labels = read_back(tmp_path, run_metrics(command, doc))
    expected = expected_drift(command, doc) | {
        ("chsync_last_run_success", ()): 1.0,
        ("chsync_last_run_timestamp_seconds", ()): ENDED_AT,
        ("chsync_last_run_duration_seconds", ()): DURATION,
    }
    if in_sync:
        expected[("chsync_last_in_sync_timestamp_seconds", ())] = ENDED_AT
    assert values == expected
    assert set(types.values()) == {"gauge"}
    assert all({k: s[k] for k in ("table", "customer", "command")} ==
               {"table": TABLE, "customer": "alaska-air", "command": command} for s in labels)


def test_stale_reasons_with_zero_rows_keep_their_series(tmp_path):
    values, _, _ = read_back(tmp_path, run_metrics("verify", golden("verify-after.json")))
    reasons = {dict(extra)["reason"]: v for (name, extra), v in values.items() if name == "chsync_stale_rows"}
    assert reasons and set(reasons) == set(golden("verify-after.json")["stale_reasons"])
    assert set(reasons.values()) == {0.0}


def test_a_table_without_customers_has_an_empty_customer_label(tmp_path):
    doc = golden("sync.json") | {"customer": None}
    _, _, labels = read_back(tmp_path, run_metrics("sync", doc, customer=None))
    assert labels and all(s["customer"] == "" for s in labels)


@pytest.mark.parametrize("doc_name, success, known, expected", [
    ("verify-after.json", True, EARLIER, ENDED_AT),   # in sync now: this run's end
    ("verify-before.json", True, EARLIER, EARLIER),   # drift: the last time the journal knows
    ("verify-after.json", False, EARLIER, EARLIER),   # a failed run proves nothing
    ("verify-before.json", True, None, None),         # never known: no sample
])
def test_last_in_sync_is_this_run_or_the_last_known_time(tmp_path, doc_name, success, known, expected):
    values, _, _ = read_back(tmp_path, run_metrics("verify", golden(doc_name), success=success, last_in_sync=known))
    assert values.get(("chsync_last_in_sync_timestamp_seconds", ())) == expected
    assert values[("chsync_last_run_success", ())] == (1.0 if success else 0.0)


def test_a_run_that_failed_without_a_document_reports_only_how_it_ran(tmp_path):
    values, _, _ = read_back(tmp_path, run_metrics("sync", None, success=False, last_in_sync=EARLIER))
    assert values == {("chsync_last_run_success", ()): 0.0, ("chsync_last_run_timestamp_seconds", ()): ENDED_AT,
                      ("chsync_last_run_duration_seconds", ()): DURATION,
                      ("chsync_last_in_sync_timestamp_seconds", ()): EARLIER}


def test_a_command_without_metrics_is_refused():
    with pytest.raises(ValueError, match="plan"):
        run_metrics("plan", {"days": []})


# -- the file ----------------------------------------------------------------------------------------

def test_the_file_is_replaced_whole_by_a_synced_temp_file_in_the_same_directory(tmp_path, monkeypatch):
    path = tmp_path / "chsync.prom"
    path.write_text("# the previous run\n")
    registry = run_metrics("verify", golden("verify-before.json"))
    events, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        events.append("fsync")
        real_fsync(fd)

    def replace(src, dst):
        src, dst = os.fspath(src), os.fspath(dst)
        assert os.path.dirname(src) == os.path.dirname(dst), "a rename across directories is not atomic"
        assert not src.endswith(".prom"), "the textfile collector would read the temp file"
        assert open(src, "rb").read() == generate_latest(registry), "the temp file is not complete"
        assert open(dst).read() == "# the previous run\n", "the target changed before the rename"
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_textfile(path, registry)
    assert events[:2] == ["fsync", "replace"]
    assert path.read_bytes() == generate_latest(registry)
    assert os.stat(path).st_mode & 0o777 == 0o644, "node_exporter runs as another user"
    assert [p.name for p in tmp_path.iterdir()] == ["chsync.prom"]


def test_a_failed_write_leaves_the_previous_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "chsync.prom"
    write_textfile(path, run_metrics("verify", golden("verify-after.json")))
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_textfile(path, run_metrics("verify", golden("verify-before.json")))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["chsync.prom"]
    assert list(text_string_to_metric_families(before.decode()))
