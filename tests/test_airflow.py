"""The Airflow operator under a real Apache Airflow: `airflow dags test` runs the example DAG
(examples/airflow/chsync_daily.py) on the embedded Postgres and chDB, and a DAG whose tasks must fail.

Airflow lives in its own virtualenv so that it never changes the main environment: created once
(`--system-site-packages`, so chsync's own dependencies come from the main environment and only Airflow's
are installed) under .venv/ (or CHSYNC_AIRFLOW_VENV), and reused by later runs. chsync itself comes from
this tree (PYTHONPATH). Airflow's home is a temporary directory with its SQLite metadata database; no
scheduler or webserver runs. The module is skipped, saying why, when pip cannot reach the registry."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import DAYS, assert_sink_equals_source, make_drifted

from chsync.apply.journal import Journal

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = "apache-airflow>=2.9"
VENV = Path(os.environ.get("CHSYNC_AIRFLOW_VENV") or
            ROOT / ".venv" / f"airflow-py{sys.version_info.major}{sys.version_info.minor}")
UNREACHABLE = re.compile(r"Could not find a version|No matching distribution|Failed to establish|Temporary failure "
                         r"in name resolution|ConnectionError|Network is unreachable|ProxyError|Read timed out")
PASSWORD = "pg-secret-7f3a"      # the embedded Postgres trusts local users: any password is accepted
DAY = DAYS[-1]

FAILING_DAG = '''
import datetime as dt
try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG
from chsync.airflow import ChsyncOperator

with DAG(dag_id="chsync_failing", schedule=None, start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
         default_args={"retries": 0}):
    ChsyncOperator(task_id="locked", command="sync", day="{{ ds }}", lookback=0)
    ChsyncOperator(task_id="bad_spec", command="verify", config=%(bad_spec)r, day="{{ ds }}")
'''


def _venv_python() -> Path:
    """The Airflow virtualenv's python, made on first use (a lock keeps two test processes from racing)."""
    python, ready = VENV / "bin" / "python", VENV / ".chsync-ready"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f".{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists() and ready.read_text() == REQUIREMENT and python.exists():
            return python
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=True, timeout=120)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", REQUIREMENT],
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()
            shutil.rmtree(VENV, ignore_errors=True)
            if UNREACHABLE.search(output):
                pytest.skip(f"pip cannot install {REQUIREMENT} (registry unreachable?): {output.splitlines()[-1]}")
            raise AssertionError(f"pip install {REQUIREMENT} failed:\n{output[-3000:]}")
        ready.write_text(REQUIREMENT)
        return python


class Airflow:
    """One Airflow home (SQLite metadata, a DAGs folder) driven through its CLI."""

    def __init__(self, python: Path, home: Path):
        self.python, self.home, self.dags = python, home, home / "dags"
        self.dags.mkdir(parents=True)
        shutil.copy(ROOT / "examples" / "airflow" / "chsync_daily.py", self.dags)
        self.environ = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
                        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PYTHONPATH": str(ROOT),
                        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120"}
        for name in ("CHSYNC_SOURCE", "CHSYNC_SINK", "CHSYNC_CONFIG"):
            self.environ.pop(name, None)

    def run(self, *args: str, env: dict | None = None, timeout: float = 400) -> subprocess.CompletedProcess:
        airflow = self.python.parent / "airflow"
        return subprocess.run([str(airflow), *args], capture_output=True, text=True, timeout=timeout,
                              env={**self.environ, **(env or {})}, cwd=self.home)

    def db(self):
        return sqlite3.connect(self.home / "airflow.db")

    def states(self, dag_id: str) -> dict[str, str]:
        with self.db() as conn:
            return dict(conn.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (dag_id,)))

    def xcom(self, dag_id: str, task_id: str, key: str = "return_value"):
        with self.db() as conn:
            row = conn.execute("SELECT value FROM xcom WHERE dag_id = ? AND task_id = ? AND key = ?",
                               (dag_id, task_id, key)).fetchone()
        assert row is not None, f"no XCom {key} of {dag_id}.{task_id}"
        value = row[0]
        while isinstance(value, bytes | str):     # stored as JSON text (Airflow 3) or JSON bytes (2.x)
            value = json.loads(value)
        return value


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    started = time.monotonic()
    python = _venv_python()
    installed = time.monotonic()
    home = Airflow(python, tmp_path_factory.mktemp("airflow-home"))
    done = home.run("db", "migrate")
    assert done.returncode == 0, done.stderr[-3000:]
    print(f"\nAirflow: venv {installed - started:.1f} s, db migrate {time.monotonic() - installed:.1f} s")
    return home


def _with_password(dsn: str) -> str:
    scheme, rest = dsn.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


def test_the_daily_dag_syncs_heals_and_proves_the_week(airflow, env):
    make_drifted(env)     # four days synced, three of them drifted since (verify says so)
    started = time.monotonic()
    done = airflow.run("dags", "test", "chsync_daily", DAY.isoformat(),
                       env={"AIRFLOW_VAR_CHSYNC_SOURCE": _with_password(env.source), "CHSYNC_SINK": env.sink_url})
    print(f"airflow dags test chsync_daily: {time.monotonic() - started:.1f} s")
    output = done.stdout + done.stderr
    assert airflow.states("chsync_daily") == {"sync": "success", "verify_week": "success"}, output[-5000:]

    synced = airflow.xcom("chsync_daily", "sync")
    assert [d["day"] for d in synced["days"]] == [d.isoformat() for d in DAYS[1:]]   # two healed, the day
    assert synced["left"] == [] and synced["refused"] == []
    assert {h["day"] for h in synced["healed"]} == {d.isoformat() for d in DAYS[1:3]}
    assert set(synced["checked"]) >= {d.isoformat() for d in DAYS[:3]}
    proof = airflow.xcom("chsync_daily", "verify_week")
    assert proof["in_sync"] is True and proof["from"] == (DAY - dt.timedelta(days=7)).isoformat()
    assert proof["to"] == DAY.isoformat()

    with env.pg() as conn, env.sink() as sink:
        assert_sink_equals_source(conn, sink, DAYS)
    assert env.cli("verify", "--from", DAYS[0].isoformat(), "--to", DAY.isoformat()).returncode == 0

    assert PASSWORD not in output, "the source's password reached Airflow's output"
    with airflow.db() as conn:
        stored = "\n".join(str(v) for table in ("xcom", "rendered_task_instance_fields")
                           for row in conn.execute(f"SELECT * FROM {table}") for v in row)
    assert PASSWORD not in stored, "the source's password was stored in Airflow's database"


def test_a_held_lock_and_a_bad_spec_fail_their_tasks(airflow, env, tmp_path):
    make_drifted(env)
    with env.sink() as sink:          # another writer (this process, alive) holds the table's lock
        journal = Journal(sink)
        journal.ensure()
        journal.acquire("sync-held-by-the-test", what="sync")
    bad_spec = tmp_path / "bad.toml"
    bad_spec.write_text("[table\nname = 'x'\n")
    (airflow.dags / "chsync_failing.py").write_text(FAILING_DAG % {"bad_spec": str(bad_spec)})
    started = time.monotonic()
    done = airflow.run("dags", "test", "chsync_failing", DAY.isoformat(),
                       env={"CHSYNC_SOURCE": env.source, "CHSYNC_SINK": env.sink_url})
    print(f"airflow dags test chsync_failing: {time.monotonic() - started:.1f} s")
    output = done.stdout + done.stderr
    assert airflow.states("chsync_failing") == {"locked": "failed", "bad_spec": "failed"}, output[-5000:]
    assert "chsync sync: refused (exit 3)" in output and "is locked by run sync-held-by-the-test" in output
    assert "chsync verify: bad input (exit 2)" in output and "is not valid TOML" in output
    doc = env.cli_json("verify", "--from", DAYS[0].isoformat(), "--to", DAY.isoformat(), expect=1)
    assert [d["in_sync"] for d in doc["days"]] == [True, False, False, False], "a refused sync wrote nothing"
