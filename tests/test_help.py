"""`--help` of every command and subcommand says what it does, how safe it is — in the vocabulary the
top-level help defines: Read-only, Writes, Destructive — and shows an example."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from chsync.cli import main

SAFETY = ("Read-only", "Writes", "Destructive")


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under `group`, the group itself included: (), ("demo",), ("embedded", "up") ..."""
    found = [path]
    for name, cmd in sorted(group.commands.items()):
        found += commands(cmd, path + (name,)) if isinstance(cmd, click.Group) else [path + (name,)]
    return found


def test_every_command_is_walked():
    names = {" ".join(p) for p in commands()}
    assert {"", "demo", "scope", "backfill", "embedded", "embedded up", "embedded down"} <= names


@pytest.mark.parametrize("path", commands(), ids=lambda p: " ".join(p) or "chsync")
def test_help_explains_safety_and_gives_an_example(path):
    done = CliRunner().invoke(main, [*path, "--help"], prog_name="chsync")
    assert done.exit_code == 0, done.output
    text = done.output
    assert "Example" in text and "chsync " in text.split("Example", 1)[1], text
    words = [w for w in SAFETY if w in text]
    assert words, f"chsync {' '.join(path)} --help says nothing about safety:\n{text}"
    if "Destructive" in text and path:
        assert "protect" in text, f"chsync {' '.join(path)} is destructive but does not say what protects the data"


def test_destructive_commands_say_so():
    def help_of(*path):
        return CliRunner().invoke(main, [*path, "--help"], prog_name="chsync").output
    for path in (("sync",), ("backfill",), ("generate",)):
        assert "Destructive" in help_of(*path), path
    for path in (("scope",), ("diff",), ("verify",), ("plan",), ("embedded", "status")):
        assert "Read-only" in help_of(*path) and "Destructive" not in help_of(*path), path
