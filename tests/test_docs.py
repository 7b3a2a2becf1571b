"""The documentation says only what is true of this tree: every `chsync` command it shows exists, every
relative link (and its #anchor) resolves, the README keeps its two set-up commands verbatim and stays
short, and BENCHMARKS.md stays one current page."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from chsync.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
SETUP_COMMANDS = ("pip install -e '.[embedded]' && chsync demo", "bash scripts/test.sh")
# global options that take a value (`--source DSN`): the command comes after them
VALUED = {"--source", "--sink", "--config", "--table", "--param", "--customer"}
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
INVOCATION = re.compile(r"(?:^|(?<=[\s\"'(`$;&|]))chsync[ \t]+")
CRON_USER = re.compile(r"^\s*([\d*/,-]+\s+){5}$")  # five schedule fields, then the user
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _code(text: str) -> list[str]:
    """The code of a Markdown page: its fenced blocks (continuation lines joined) and its inline spans."""
    blocks = [b.replace("\\\n", " ") for b in FENCE.findall(text)]
    prose = FENCE.sub("", text)
    return blocks + INLINE.findall(prose)


def _invoked(code: str) -> list[list[str]]:
    """The command path of each `chsync …` in a piece of code: global options skipped, `a\\|b` split."""
    found = []
    for line in code.splitlines():
        for match in INVOCATION.finditer(line):
            before = line[: match.start()]
            if CRON_USER.match(before) or re.search(r"(^|\s)-\S*\s+$", before):
                continue  # a user, not the command: `30 2 * * * chsync set -a`, `install -o chsync`
            path = _path(line[match.end():].split())
            if path:
                found.append(path)
    return found


def _path(words: list[str]) -> list[str] | None:
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in VALUED and words:
            words.pop(0)
    if not words or not re.fullmatch(r"[a-z][a-z-]*", words[0]):
        return None  # `chsync` alone, `chsync …`, a placeholder
    path = [words[0]]
    sub = re.match(r"[a-z][a-z-]*(\\\|[a-z-]+)*", words[1]) if len(words) > 1 else None
    if isinstance(main.commands.get(words[0]), click.Group) and sub:
        path.append(sub.group(0))  # `up)"` of `"$(chsync embedded up)"` is `up`
    return path


def _exists(path: list[str]) -> bool:
    group: click.Command = main
    for i, name in enumerate(path):
        if not isinstance(group, click.Group):
            return True  # an argument, not a subcommand
        names = name.replace("\\|", "|").split("|") if i else [name]
        if not all(n in group.commands for n in names):
            return False
        group = group.commands[names[0]]
    return True


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_chsync_command_shown_is_real(page):
    paths = [p for code in _code(page.read_text()) for p in _invoked(code)]
    unknown = sorted({" ".join(p) for p in paths if not _exists(p)})
    assert not unknown, f"{page.relative_to(ROOT)} shows commands chsync does not have: {unknown}"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: links that do not resolve: {broken}"


def test_the_readme_keeps_its_two_setup_commands_and_the_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    blocks = [b.strip() for b in FENCE.findall(readme)]
    for command in SETUP_COMMANDS:
        assert command in blocks, f"README lost its set-up command: {command}"
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_is_short_and_the_details_are_linked():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250, "README.md over 250 lines: move the details into docs/"
    for doc in ("docs/SPEC.md", "docs/CLUSTER.md", "docs/GUARANTEES.md", "docs/RUNNING_DAILY.md",
                "docs/SCALING.md", "docs/ARCHITECTURE.md", "BENCHMARKS.md"):
        assert f"]({doc}" in readme, f"README does not link {doc}"


def test_benchmarks_is_one_current_page():
    assert len((ROOT / "BENCHMARKS.md").read_bytes()) <= 15_000, "BENCHMARKS.md over 15 KB: keep current figures"
