"""Command line: parses, calls the library, prints. Exit codes in errors.py."""

from . import read, repair, setup, spec  # noqa: F401 - each module registers its commands on `main`
from .main import main

__all__ = ["main"]
