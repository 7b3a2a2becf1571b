"""chsync as an Airflow task: `ChsyncOperator(command="sync", day="{{ ds }}", lookback=7, ...)` runs one
command of chsync.api and returns its JSON document (the task's XCom return value).

How a command's outcome becomes the task's state:

- exit 0: the task succeeds, with the document as its return value;
- exit 1 (drift remains: a verify or diff that found drift, a sync that left drifted days) and exit 3 (a
  guard refused a day, or another writer holds the table's lock): the task fails with the reason, and may
  be retried (a later try may find the lock free, or the days healed); the document is still pushed, under
  the XCom key "document";
- exit 2 (a bad spec, a bad date, a malformed URL): the task fails and is not retried, since trying again
  cannot help;
- exit 4 or any other failure: the task fails with the reason, and may be retried.

Passwords in the source and sink URLs are registered with Airflow's secrets masker when the fields are
rendered, so neither the task's logs nor its rendered fields show them; the documents hold none.

Needs apache-airflow (`pip install 'chsync[airflow]'`): 3.x through its task SDK, 2.9+ through
airflow.models.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import api
from .errors import EXIT_BAD_INPUT, EXIT_CHECKS_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_RUNTIME, ChsyncError
from .secrets import redact

try:   # Airflow 3: operators come from the task SDK
    from airflow.sdk import BaseOperator
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
except ImportError:   # Airflow 2.9+
    from airflow.exceptions import AirflowException, AirflowFailException
    from airflow.models import BaseOperator

RANGE_COMMANDS = ("scope", "diff", "plan", "backfill", "verify")


class ChsyncTaskFailed(AirflowException):
    """A chsync command that did not end well; `exit_code` is the one the CLI would have exited with."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class ChsyncBadInput(ChsyncTaskFailed, AirflowFailException):
    """Exit 2, a mistake in the spec or the options: failing without retries, as no retry can fix it."""


def task_failure(command: str, exit_code: int, reason: str) -> ChsyncTaskFailed | None:
    """The exception that fails the task for a command's exit code, None when the task succeeds."""
    if exit_code == EXIT_OK:
        return None
    kind = {EXIT_CHECKS_FAILED: "drift remains", EXIT_BAD_INPUT: "bad input", EXIT_REFUSED: "refused",
            EXIT_RUNTIME: "failed"}.get(exit_code, "failed")
    message = redact(f"chsync {command}: {kind} (exit {exit_code}): {reason}")
    return (ChsyncBadInput if exit_code == EXIT_BAD_INPUT else ChsyncTaskFailed)(message, exit_code)


def reason_of(result: api.Result) -> str:
    """One line on why a result's exit code is not 0."""
    def days(found: tuple[dt.date, ...]) -> str:
        shown = ", ".join(d.isoformat() for d in found[:10])
        return f"{len(found)} day(s): {shown}{' ...' if len(found) > 10 else ''}"
    if isinstance(result, api.SyncResult):
        if result.refused:
            return "; ".join(result.refused)
        if result.days_left:
            return f"drifted days left unhealed ({'dry run' if result.dry_run else 'max_heal_days'}), " \
                   f"{days(result.days_left)}"
    if isinstance(result, api.VerifyResult | api.BackfillResult) and result.days_out_of_sync:
        return f"out of sync, {days(result.days_out_of_sync)}"
    if isinstance(result, api.DiffResult) and result.days_differing:
        return f"differences on {days(result.days_differing)}"
    return "see the document"


def json_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document as plain JSON values (what an XCom can hold), with any password masked."""
    return json.loads(redact(json.dumps(document, default=str)))


def url_secrets(url: str | None) -> list[str]:
    """The passwords a source or sink URL carries (in its user info or as a password= parameter)."""
    if not url:
        return []
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in ("password", "passwd", "pwd") and v]
    return found


def _mask_secret(secret: str) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:
        from airflow.utils.log.secrets_masker import mask_secret
    mask_secret(secret)


class ChsyncOperator(BaseOperator):
    """Runs one chsync command (sync, verify, scope, diff, plan, backfill, history) through chsync.api.

    `config` is the table spec's TOML file (None: the shipped seed spec); `source` and `sink` are the URLs
    (None: the environment's CHSYNC_SOURCE and CHSYNC_SINK, as for the CLI). `day` is the day a sync writes;
    the range commands take `first`..`last`, by default that one day. `lookback`, `sweep`, `max_heal_days`,
    `dry_run`, `wait`, `allow_shrink` and `mode` are the sync's options; `options` passes any other keyword of
    the api function (e.g. {"samples": 5} to scope, {"strategy": "swap"} to backfill). `spec_params` are the
    spec's parameters (`--param`). `configure_runtime` makes the CLI's process-wide allocator tuning in the
    task's process (off by default: the process is the worker's)."""

    template_fields = ("config", "source", "sink", "day", "first", "last", "customer", "table")
    ui_color = "#fff4d6"

    def __init__(self, *, command: str = "sync", config: str | None = None, source: str | None = None,
                 sink: str | None = None, day: str | None = "{{ ds }}", first: str | None = None,
                 last: str | None = None, lookback: int | None = None, sweep: int = 0,
                 max_heal_days: int | None = None, dry_run: bool = False, wait: float = 0.0,
                 allow_shrink: bool = False, mode: str | None = None, table: str | None = None,
                 customer: str | None = None, spec_params: Mapping[str, Any] | None = None,
                 options: Mapping[str, Any] | None = None, configure_runtime: bool = False, **kwargs: Any):
        if command not in api.COMMANDS:
            raise ValueError(f"command {command!r}: use one of {', '.join(api.COMMANDS)}")
        super().__init__(**kwargs)
        self.command, self.config, self.source, self.sink = command, config, source, sink
        self.day, self.first, self.last = day, first, last
        self.lookback, self.sweep, self.max_heal_days = lookback, sweep, max_heal_days
        self.dry_run, self.wait, self.allow_shrink, self.mode = dry_run, wait, allow_shrink, mode
        self.table, self.customer = table, customer
        self.spec_params = dict(spec_params or {})
        self.options = dict(options or {})
        self.configure_runtime = configure_runtime

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        # before the rendered fields are stored and before anything is logged
        for secret in url_secrets(self._source()) + url_secrets(self._sink()):
            _mask_secret(secret)

    def _source(self) -> str | None:
        return self.source or os.environ.get("CHSYNC_SOURCE") or None

    def _sink(self) -> str | None:
        return self.sink or os.environ.get("CHSYNC_SINK") or None

    def run_command(self) -> api.Result:
        """The command, through chsync.api; raises chsync.errors' exceptions."""
        common: dict[str, Any] = {"table": self.table or None, "customer": self.customer or None,
                                  "params": self.spec_params or None}
        spec = self.config or None
        if self.mode:
            common["mode"] = self.mode
        if self.command == "history":
            common.pop("mode", None)
            return api.history(spec, sink=self._sink(), **common, **self.options)
        common |= {"source": self._source(), "sink": self._sink()}
        if self.command == "sync":
            if self.first or self.last:
                common |= {"first": self.first, "last": self.last}
            else:
                common |= {"day": self.day, "lookback": self.lookback, "sweep": self.sweep}
            return api.sync(spec, max_heal_days=self.max_heal_days, dry_run=self.dry_run, wait=self.wait,
                            allow_shrink=self.allow_shrink, **common, **self.options)
        first, last = self.first or self.day, self.last or self.first or self.day
        functions: dict[str, Callable[..., api.Result]] = {
            "scope": api.scope, "diff": api.diff, "plan": api.plan, "backfill": api.backfill, "verify": api.verify}
        function = functions[self.command]
        if self.command == "backfill":
            common |= {"allow_shrink": self.allow_shrink}
        return function(spec, first=first, last=last, **common, **self.options)

    def execute(self, context: Any) -> dict[str, Any]:
        if self.configure_runtime:
            api.configure_runtime()
        try:
            result = self.run_command()
        except ChsyncError as e:
            failure = task_failure(self.command, e.exit_code, str(e))
            assert failure is not None
            raise failure from None
        document = json_document(result.document)
        failure = task_failure(self.command, result.exit_code, reason_of(result))
        if failure is not None:
            ti = context.get("ti") if isinstance(context, Mapping) else None
            if ti is not None:
                ti.xcom_push(key="document", value=document)
            raise failure
        return document


__all__ = ["ChsyncOperator", "ChsyncTaskFailed", "ChsyncBadInput", "task_failure", "reason_of", "json_document",
           "url_secrets"]
