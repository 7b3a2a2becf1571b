"""chsync: keep a ClickHouse copy of a Postgres table in sync.

From Python: `chsync.sync(...)`, `chsync.verify(...)` and the other commands of `chsync.api`, each returning
a frozen result; `chsync.configure_runtime()` is the one call that tunes the process (the CLI makes it).
They are loaded on first use, so that `import chsync` stays light and changes nothing in the process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import (
        BackfillResult,
        DiffResult,
        HistoryResult,
        PlanResult,
        Result,
        ScopeResult,
        SyncResult,
        VerifyResult,
        backfill,
        configure_runtime,
        diff,
        history,
        load_spec,
        plan,
        scope,
        sync,
        verify,
    )
    from .errors import BadInput, ChsyncError, Refused, RuntimeFailure

_API = ("configure_runtime", "load_spec", "scope", "diff", "plan", "backfill", "sync", "verify", "history",
        "Result", "ScopeResult", "DiffResult", "PlanResult", "BackfillResult", "SyncResult", "VerifyResult",
        "HistoryResult")
_ERRORS = ("ChsyncError", "BadInput", "Refused", "RuntimeFailure")

__all__ = ["__version__", "configure_runtime", "load_spec", "scope", "diff", "plan", "backfill", "sync", "verify",
           "history", "Result", "ScopeResult", "DiffResult", "PlanResult", "BackfillResult", "SyncResult",
           "VerifyResult", "HistoryResult", "ChsyncError", "BadInput", "Refused", "RuntimeFailure"]


def __getattr__(name: str) -> Any:
    # on first use (PEP 562): the api imports most of chsync, which `import chsync` alone should not
    if name in _API:
        from . import api
        return getattr(api, name)
    if name in _ERRORS:
        from . import errors
        return getattr(errors, name)
    raise AttributeError(f"module 'chsync' has no attribute {name!r}")
