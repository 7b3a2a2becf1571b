"""Prometheus metrics of one chsync run, built from the command's JSON document, written for
node_exporter's textfile collector or pushed to a Pushgateway.

Every metric is a gauge and every sample carries the labels `table`, `customer` ("" for a table without
customers) and `command`.

Which number comes from where in the JSON document printed by `--json` (names without `chsync_`;
"A / B": A with the sync's lookback keys checked, drifted and healed, B without them):

| metric | sync | verify, scope | backfill |
|---|---|---|---|
| rows_written | rows_written | 0 | rows_written |
| days_checked | len(checked) / len(days) | len(days) | len(days) |
| days_drifted | len(drifted) / 0 | days with in_sync false | days whose action is not skip |
| days_healed | len(healed) / 0 | 0 | days whose action is not skip |
| drift_rows{kind=missing} | sum of healed[].missing / 0 | totals.missing | 0 |
| drift_rows{kind=stale} | sum of healed[].stale / 0 | totals.stale | 0 |
| drift_rows{kind=changed} | sum of healed[].changed / 0 | totals.changed | 0 |
| drift_rows{kind=duplicate} | sum of healed[].duplicates / 0 | sink.duplicate_keys | verify.dup... (1) |
| stale_rows{reason=R} | sum healed[].stale_reasons.R / - | stale_reasons.R | - |

(1) verify.duplicate_keys.

A sync with a lookback also gives the table's whole history, from the ledger (apply/ledger.py):
chsync_days_never_proven (days_never_proven) and chsync_oldest_proof_age_seconds
(oldest_proof_age_seconds, no sample while no day has been proven).
Without the lookback keys a sync checked the days it synced. A duplicate is a key with more than one
sink row. stale_rows has one sample per reason the document names, zeros included, so a reason's
series does not vanish on a clean run. A run ended in sync when: sync, no day was refused and every
drifted day was healed; verify and scope, `in_sync`; backfill, `verify.in_sync`.

Run metrics come from the caller, who knows how the run went: chsync_last_run_success (1 for exit code
0), chsync_last_run_timestamp_seconds (when it ended), chsync_last_run_duration_seconds, and
chsync_last_in_sync_timestamp_seconds: the run's end when it succeeded and ended in sync, else the last
such time the caller knows (from the journal), and no sample at all when neither is known.
A run that failed before it had a document (doc None) gets the run metrics only: no zeros that would
read as "no drift".
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import os
import re
import tempfile
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import basic_auth_handler, default_handler, push_to_gateway

JOB = "chsync"
LABELS = ("table", "customer", "command")
DRIFT_KINDS = ("missing", "stale", "changed", "duplicate")
HEALED_FIELDS = {"missing": "missing", "stale": "stale", "changed": "changed", "duplicate": "duplicates"}
COMMANDS = ("sync", "verify", "scope", "backfill")
REASON_CHARS = 300
# user[:password]@ of a URL, removed by a pattern so that even a URL urlsplit rejects is shown without it.
_CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


class MetricsPushFailed(Exception):
    """A push to the Pushgateway failed; the message names the URL (without credentials) and why."""


@dataclasses.dataclass
class DriftNumbers:
    """What one command's document says about the drift, in the metrics' terms."""

    rows_written: int = 0
    days_checked: int = 0
    days_drifted: int = 0
    days_healed: int = 0
    drift_rows: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(DRIFT_KINDS, 0))
    stale_rows: dict[str, int] = dataclasses.field(default_factory=dict)
    in_sync: bool = False
    days_never_proven: int | None = None           # a sync with a lookback: the whole history's
    oldest_proof_age_seconds: float | None = None


def drift_numbers(command: str, doc: dict) -> DriftNumbers:
    """The numbers of a sync, verify, scope or backfill document (see the table above)."""
    if command == "sync":
        return _sync_numbers(doc)
    if command in ("verify", "scope"):
        return _verify_numbers(doc)
    if command == "backfill":
        return _backfill_numbers(doc)
    raise ValueError(f"no metrics for command {command!r}: only {', '.join(COMMANDS)}")


def _sync_numbers(doc: dict) -> DriftNumbers:
    if "checked" not in doc:
        return DriftNumbers(rows_written=doc["rows_written"], days_checked=len(doc["days"]),
                            in_sync=not doc["refused"])
    healed = doc["healed"]
    stale_rows: dict[str, int] = {}
    for day in healed:
        for reason, rows in day["stale_reasons"].items():
            stale_rows[reason] = stale_rows.get(reason, 0) + rows
    drift_rows = {kind: sum(day[field] for day in healed) for kind, field in HEALED_FIELDS.items()}
    healed_days = {day["day"] for day in healed}
    return DriftNumbers(
        rows_written=doc["rows_written"], days_checked=len(doc["checked"]), days_drifted=len(doc["drifted"]),
        days_healed=len(healed), drift_rows=drift_rows, stale_rows=stale_rows,
        in_sync=not doc["refused"] and set(doc["drifted"]) <= healed_days,
        days_never_proven=doc.get("days_never_proven"), oldest_proof_age_seconds=doc.get("oldest_proof_age_seconds"))


def _verify_numbers(doc: dict) -> DriftNumbers:
    totals = doc["totals"]
    return DriftNumbers(
        days_checked=len(doc["days"]), days_drifted=sum(1 for day in doc["days"] if not day["in_sync"]),
        drift_rows={"missing": totals["missing"], "stale": totals["stale"], "changed": totals["changed"],
                    "duplicate": doc["sink"]["duplicate_keys"]},
        stale_rows=dict(doc["stale_reasons"]), in_sync=doc["in_sync"])


def _backfill_numbers(doc: dict) -> DriftNumbers:
    changed = sum(1 for day in doc["days"] if day["action"] != "skip")
    after = doc["verify"]
    return DriftNumbers(
        rows_written=doc["rows_written"], days_checked=len(doc["days"]), days_drifted=changed,
        days_healed=changed, in_sync=after["in_sync"],
        drift_rows=dict.fromkeys(DRIFT_KINDS, 0) | {"duplicate": after["duplicate_keys"]})


def registry_for(command: str, doc: dict | None, *, table: str, customer: str | None, ended_at: float,
                 duration: float, success: bool, last_in_sync: float | None) -> CollectorRegistry:
    """The run's metrics in a registry of their own (never the process-wide default one)."""
    numbers = drift_numbers(command, doc) if doc is not None else None
    labels = {"table": table, "customer": customer or "", "command": command}
    registry = CollectorRegistry()

    def gauge(name: str, documentation: str, value: float) -> None:
        Gauge(name, documentation, LABELS, registry=registry).labels(**labels).set(value)

    gauge("chsync_last_run_success", "1 when the last run exited 0, else 0.", 1 if success else 0)
    gauge("chsync_last_run_timestamp_seconds", "When the last run ended (Unix time).", ended_at)
    gauge("chsync_last_run_duration_seconds", "How long the last run took.", duration)
    if success and numbers is not None and numbers.in_sync:
        last_in_sync = ended_at
    if last_in_sync is not None:
        gauge("chsync_last_in_sync_timestamp_seconds",
              "When a run last ended with every checked day in sync (Unix time).", last_in_sync)
    if numbers is None:
        return registry
    gauge("chsync_rows_written", "Rows the last run wrote to the sink.", numbers.rows_written)
    gauge("chsync_days_checked", "Days the last run compared with the source.", numbers.days_checked)
    gauge("chsync_days_drifted", "Days the last run found out of sync.", numbers.days_drifted)
    gauge("chsync_days_healed", "Days the last run rewrote to heal drift.", numbers.days_healed)
    drift = Gauge("chsync_drift_rows", "Rows out of sync found by the last run, by kind (duplicate: keys with "
                  "more than one sink row).", [*LABELS, "kind"], registry=registry)
    for kind in DRIFT_KINDS:
        drift.labels(**labels, kind=kind).set(numbers.drift_rows[kind])
    stale = Gauge("chsync_stale_rows", "Stale sink rows found by the last run, by why the source no longer "
                  "has them for that day.", [*LABELS, "reason"], registry=registry)
    for reason, rows in sorted(numbers.stale_rows.items()):
        stale.labels(**labels, reason=reason).set(rows)
    if numbers.days_never_proven is not None:
        gauge("chsync_days_never_proven", "Days of the table's history never proven equal to the source.",
              numbers.days_never_proven)
    if numbers.oldest_proof_age_seconds is not None:
        gauge("chsync_oldest_proof_age_seconds", "Age of the oldest last proof among the table's days: how "
              "long the least recently proven day has gone unchecked.", numbers.oldest_proof_age_seconds)
    return registry


def write_textfile(path: str | os.PathLike, registry: CollectorRegistry) -> None:
    """Replace PATH atomically: node_exporter's textfile collector may read it at any moment and must
    never see half a file. prometheus_client's write_to_textfile renames too, but without fsync a crash
    right after the rename can leave an empty file; this one syncs the data, then the directory."""
    target = Path(path)
    # The temp name must not end in .prom, or the textfile collector would read it mid-write.
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(generate_latest(registry))
            out.flush()
            # mkstemp makes the file 0600; node_exporter usually runs as another user.
            os.fchmod(out.fileno(), 0o644)
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def push(url: str, registry: CollectorRegistry, *, table: str, customer: str | None, command: str,
         timeout: float) -> None:
    """PUT the registry to the Pushgateway at URL under job `chsync` and the grouping key {table, customer,
    command}: the group's previous metrics are replaced, not added to. Credentials in the URL
    (http://user:pw@host:9091) are sent as basic auth. Raises MetricsPushFailed."""
    url = url if "://" in url else f"http://{url}"
    gateway = _CREDENTIALS.sub(r"\1", url, count=1)
    grouping_key = {"table": table, "customer": customer or "", "command": command}
    try:
        parts = urlsplit(url)
        handler = default_handler
        if parts.username is not None:
            handler = functools.partial(basic_auth_handler, username=unquote(parts.username),
                                        password=unquote(parts.password or ""))
        push_to_gateway(gateway, job=JOB, registry=registry, grouping_key=grouping_key, timeout=timeout,
                        handler=handler)
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise MetricsPushFailed(f"could not push metrics to the Pushgateway at {gateway}: {_reason(e, timeout)}") from e


def _reason(error: BaseException, timeout: float) -> str:
    if isinstance(error, HTTPError):
        body = " ".join(error.read().decode(errors="replace").split()) if error.fp else ""
        if len(body) > REASON_CHARS:  # the gateway quotes whole metrics back: keep the message one short line
            body = body[:REASON_CHARS] + " ..."
        return f"HTTP {error.code} {error.reason}" + (f": {body}" if body else "")
    if isinstance(error, URLError) and isinstance(error.reason, BaseException):
        return _reason(error.reason, timeout)
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
