"""Human output on stderr (stdout is kept for --json documents). Quiet when asked."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .secrets import redact

if TYPE_CHECKING:
    from rich.console import Console

_console = None  # made on first use: importing rich costs more than a --json run prints with it
_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def info(message: str) -> None:
    if not _quiet:
        console().print(redact(message), markup=False)


def error(message: str) -> None:
    print(f"chsync: error: {redact(message)}", file=sys.stderr)


def console() -> Console:
    global _console
    if _console is None:
        from rich.console import Console
        _console = Console(stderr=True, highlight=False, soft_wrap=True)
    return _console
