"""chsync's daily job as an Airflow DAG: each night, sync the day that just ended and heal the week
before it (the days whose fingerprints differ from Postgres are replaced), then prove the whole week.

Where it reads its settings, at run time (nothing secret is stored with the DAG):
- the Postgres and ClickHouse URLs: the Airflow Variables `chsync_source` and `chsync_sink`, else the
  worker's environment variables CHSYNC_SOURCE and CHSYNC_SINK (a password in them is masked in the logs);
- the table spec: the Variable `chsync_config` (a TOML file's path on the worker), else the shipped seed
  spec; the lookback: the environment variable CHSYNC_LOOKBACK_DAYS, else 7.

A task fails when drift remains after it (exit 1), when another writer holds the table's lock (exit 3, and
a retry may find it free), or on any other error; a bad spec or option (exit 2) fails without retries.
Install: `pip install 'chsync[airflow]'`, then copy this file into the DAGs folder.
"""

from __future__ import annotations

import datetime as dt
import os

try:   # Airflow 3
    from airflow.sdk import DAG, CronDataIntervalTimetable
except ImportError:   # Airflow 2.9+
    from airflow import DAG
    from airflow.timetables.interval import CronDataIntervalTimetable

from chsync.airflow import ChsyncOperator

LOOKBACK = int(os.environ.get("CHSYNC_LOOKBACK_DAYS", "7"))
URLS = {"source": "{{ var.value.get('chsync_source', '') }}", "sink": "{{ var.value.get('chsync_sink', '') }}",
        "config": "{{ var.value.get('chsync_config', '') }}"}

with DAG(
    dag_id="chsync_daily",
    description="Sync yesterday into ClickHouse, heal the week before it, prove the week",
    # a data-interval schedule: at 02:30 UTC, {{ ds }} is the day that has just ended (on Airflow 2 and 3)
    schedule=CronDataIntervalTimetable("30 2 * * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,            # one writer per table: a second run would only wait for the lock
    default_args={"retries": 1, "retry_delay": dt.timedelta(minutes=15)},
    tags=["chsync"],
) as dag:
    sync = ChsyncOperator(task_id="sync", command="sync", day="{{ ds }}", lookback=LOOKBACK, **URLS)
    verify = ChsyncOperator(task_id="verify_week", command="verify",
                            first=f"{{{{ macros.ds_add(ds, -{LOOKBACK}) }}}}", last="{{ ds }}", **URLS)
    sync >> verify
