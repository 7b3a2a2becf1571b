"""chsync.api's results are frozen and typed, `import chsync` changes nothing, and the Airflow operator maps
each exit code to the task state it means (with a stand-in for Airflow: no database, no Airflow needed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
import types
import typing

import pytest

from chsync import api
from chsync.errors import BadInput, Refused, RuntimeFailure

D = dt.date(2026, 1, 20)
RESULTS = [api.ScopeResult, api.DiffResult, api.PlanResult, api.BackfillResult, api.SyncResult, api.VerifyResult,
           api.HistoryResult]


def _sync_result(exit_code: int = 0, **changes) -> api.SyncResult:
    fields = dict(exit_code=exit_code, document={"days": [{"day": "2026-01-20", "rows_written": 3}], "refused": []},
                  in_sync=exit_code == 0, run="sync-x", dry_run=False, days_synced=(D,), days_checked=(),
                  days_drifted=(), days_healed=(), days_left=(), refused=(), rows_written=3)
    return api.SyncResult(**(fields | changes))


@pytest.mark.parametrize("cls", RESULTS)
def test_every_result_is_a_frozen_dataclass_with_typed_fields(cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    hints = typing.get_type_hints(cls, vars(api))
    names = [f.name for f in dataclasses.fields(cls)]
    assert names[:2] == ["exit_code", "document"] and hints["exit_code"] is int
    assert all(name in hints for name in names), "every field has a type"


def test_a_result_cannot_be_changed():
    result = _sync_result()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.exit_code = 1    # type: ignore[misc]
    assert result.ok and result.days_synced == (D,) and result.document["days"][0]["rows_written"] == 3


def test_importing_chsync_loads_no_command_and_tunes_nothing():
    code = ("import sys, chsync; "
            "assert 'chsync.api' not in sys.modules and 'pyarrow' not in sys.modules, sorted(sys.modules); "
            "assert chsync.sync is sys.modules['chsync.api'].sync; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_sync_options_that_contradict_each_other_are_refused_without_flag_names():
    spec = api.load_spec(None)
    for options in ({"day": "2026-01-20", "first": "2026-01-19", "last": "2026-01-20"},
                    {"first": "2026-01-21", "last": "2026-01-20"},
                    {"first": "2026-01-20", "last": "2026-01-21", "lookback": 3},
                    {"day": "2026-01-20", "only_drifted": True}, {"day": "20.01.2026"}, {}):
        with pytest.raises(BadInput) as raised:
            api.sync_request(spec, **options)
        assert "--" not in str(raised.value), str(raised.value)
    request = api.sync_request(spec, day=D, lookback=2)
    assert request.days == [D] and request.check == [D - dt.timedelta(days=2), D - dt.timedelta(days=1)]


def test_a_missing_spec_file_and_a_missing_sink_are_bad_input(tmp_path):
    with pytest.raises(BadInput, match="not found") as raised:
        api.verify(tmp_path / "nope.toml", source="postgresql://u@h/db", sink="chdb:///x", first=D, last=D)
    assert raised.value.exit_code == 2
    with pytest.raises(BadInput, match="no sink given"):
        api.history(sink=None)


# -- the operator, with a stand-in for Airflow -------------------------------------------------------------

class _AirflowException(Exception):
    pass


class _AirflowFailException(_AirflowException):
    pass


class _BaseOperator:
    def __init__(self, task_id: str, **kwargs):
        self.task_id = task_id

    def render_template_fields(self, context, jinja_env=None):
        pass


class _TaskInstance:
    def __init__(self):
        self.pushed: dict = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


@pytest.fixture
def operator_module(monkeypatch):
    """chsync.airflow imported against a stand-in `airflow.sdk` (Airflow 3's import path)."""
    sdk = types.ModuleType("airflow.sdk")
    sdk.BaseOperator = _BaseOperator                    # type: ignore[attr-defined]
    exceptions = types.ModuleType("airflow.sdk.exceptions")
    exceptions.AirflowException = _AirflowException    # type: ignore[attr-defined]
    exceptions.AirflowFailException = _AirflowFailException  # type: ignore[attr-defined]
    masked: list[str] = []
    log = types.ModuleType("airflow.sdk.log")
    log.mask_secret = masked.append                     # type: ignore[attr-defined]
    root = types.ModuleType("airflow")
    for name, module in (("airflow", root), ("airflow.sdk", sdk), ("airflow.sdk.exceptions", exceptions),
                         ("airflow.sdk.log", log)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "chsync.airflow", raising=False)
    import chsync.airflow as module
    module._masked = masked   # type: ignore[attr-defined]
    yield module
    sys.modules.pop("chsync.airflow", None)


def _run(module, monkeypatch, outcome):
    """execute() of a sync operator whose api.sync returns (or raises) `outcome`."""
    def fake_sync(spec, **options):
        assert options["day"] == "2026-01-20" and options["lookback"] == 7
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
    monkeypatch.setattr(api, "sync", fake_sync)
    op = module.ChsyncOperator(task_id="sync", source="postgresql://u@h/db", sink="chdb:///x", day="2026-01-20",
                               lookback=7)
    ti = _TaskInstance()
    return op, ti, (lambda: op.execute({"ti": ti}))


def test_exit_0_succeeds_and_returns_the_json_document(operator_module, monkeypatch):
    _, ti, execute = _run(operator_module, monkeypatch, _sync_result(0))
    assert execute() == {"days": [{"day": "2026-01-20", "rows_written": 3}], "refused": []}
    assert ti.pushed == {}


@pytest.mark.parametrize(("outcome", "exit_code", "words", "retried"), [
    (_sync_result(1, days_left=(D,), days_drifted=(D,)), 1, "drift remains", True),
    (_sync_result(3, refused=("2026-01-20: refusing to empty the day",)), 3, "refusing to empty", True),
    (Refused("db.t is locked by run sync-1 (pid 7 on h): wait for it to finish"), 3, "is locked by", True),
    (BadInput("config x.toml: [table] key is missing"), 2, "key is missing", False),
    (RuntimeFailure("Postgres at h:5432 did not answer within 10 s"), 4, "did not answer", True),
])
def test_every_other_outcome_fails_the_task_with_its_reason(operator_module, monkeypatch, outcome, exit_code, words,
                                                            retried):
    _, ti, execute = _run(operator_module, monkeypatch, outcome)
    with pytest.raises(_AirflowException) as raised:
        execute()
    failure = raised.value
    assert isinstance(failure, operator_module.ChsyncTaskFailed) and failure.exit_code == exit_code
    assert words in str(failure) and f"exit {exit_code}" in str(failure)
    assert isinstance(failure, _AirflowFailException) is (not retried)
    assert ("document" in ti.pushed) is isinstance(outcome, api.Result)   # a result's document is kept


def test_passwords_in_the_urls_are_masked_and_never_in_the_document(operator_module, monkeypatch):
    op = operator_module.ChsyncOperator(task_id="v", command="verify", source="postgresql://u:pg-secret@h/db",
                                        sink="clickhouse://u@h:9000/db?password=ch-secret", day="2026-01-20")
    op.render_template_fields({})
    assert sorted(operator_module._masked) == ["ch-secret", "pg-secret"]
    doc = operator_module.json_document({"sink": "clickhouse://u:ch-secret@h/db", "when": D})
    assert doc == {"sink": "clickhouse://u:***@h/db", "when": "2026-01-20"}


def test_range_commands_take_the_day_as_their_range(operator_module, monkeypatch):
    seen = {}

    def fake_verify(spec, **options):
        seen.update(options)
        return api.VerifyResult(exit_code=0, document={}, first=D, last=D, in_sync=True, days=1,
                                days_out_of_sync=(), source_rows=0, sink_rows=0, noun="rows")
    monkeypatch.setattr(api, "verify", fake_verify)
    op = operator_module.ChsyncOperator(task_id="v", command="verify", config="t.toml", source="postgresql://h/d",
                                        sink="chdb:///x", day="2026-01-20")
    assert op.execute({}) == {}
    assert (seen["first"], seen["last"], seen["source"]) == ("2026-01-20", "2026-01-20", "postgresql://h/d")
    with pytest.raises(ValueError, match="command 'repair'"):
        operator_module.ChsyncOperator(task_id="x", command="repair")
