"""Human output on stderr (stdout is kept for --json documents). Quiet when asked."""

from __future__ import annotations

import sys

from rich.console import Console

from .secrets import redact

_console = Console(stderr=True, highlight=False, soft_wrap=True)
_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def info(message: str) -> None:
    if not _quiet:
        _console.print(redact(message), markup=False)


def error(message: str) -> None:
    print(f"chsync: error: {redact(message)}", file=sys.stderr)


def console() -> Console:
    return _console
