"""Reading a report.md back: its tables as rows of cells, the numbers in a cell, the images it references.

Independent of chsync's own Markdown code, so a test comparing these with the JSON document checks the
rendering instead of repeating it."""

from __future__ import annotations

import html
import re
from pathlib import Path

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
# CommonMark: a backslash before ASCII punctuation stands for that character; an entity for its character.
ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])|(&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)")
STRONG = re.compile(r"\*\*(.*)\*\*", re.S)


def tables(markdown: str) -> list[tuple[tuple[str, ...], list[list[str]]]]:
    """Every pipe table as (header, rows); cells stripped of spaces, of ** emphasis around the whole cell and
    of Markdown escapes (so a cell reads as the text a Markdown viewer shows)."""
    return [(tuple(map(read_cell, header)), [list(map(read_cell, row)) for row in rows])
            for header, rows in raw_tables(markdown)]


def raw_tables(markdown: str) -> list[tuple[tuple[str, ...], list[list[str]]]]:
    """Every pipe table as (header, rows) of cells as written (stripped of spaces, escapes kept)."""
    found, lines = [], lines_of(markdown)
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(?:-+\|)+", lines[i + 1]):
            header = tuple(split_row(lines[i]))
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(split_row(lines[i]))
                i += 1
            assert all(len(r) == len(header) for r in rows), f"ragged table {header}"
            found.append((header, rows))
        else:
            i += 1
    return found


def lines_of(markdown: str) -> list[str]:
    """Lines as Markdown sees them: only LF, CR LF and CR end one (str.splitlines also breaks at U+2028 …)."""
    return re.split(r"\r\n?|\n", markdown)


def read_cell(raw: str) -> str:
    """The text a cell shows: ** emphasis around the whole cell dropped, escapes resolved."""
    return unescape(_unstrong(raw))


def split_row(line: str) -> list[str]:
    """The cells of `| a | b |` as written, stripped of spaces: split at each pipe no backslash escapes."""
    cells, cell, chars = [], [], iter(line.strip(" \t")[1:-1])
    for ch in chars:
        if ch == "\\":
            cell += [ch, next(chars, "")]
        elif ch == "|":
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(ch)
    return [c.strip(" \t") for c in cells + ["".join(cell)]]


def _unstrong(cell: str) -> str:
    strong = STRONG.fullmatch(cell)
    return strong.group(1) if strong else cell


def unescape(text: str) -> str:
    """Markdown inline text back to the text it shows (backslash escapes and entities resolved)."""
    return ESCAPED.sub(lambda m: m.group(1) or html.unescape(m.group(2)), text)


def numbers(cell: str) -> list[float]:
    """The numbers written in a cell, thousands separators stripped ("1,234 / 1,200 unique" → [1234, 1200])."""
    return [float(n.replace(",", "")) for n in NUMBER.findall(cell)]


def images(markdown: str) -> list[str]:
    return IMAGE.findall(markdown)


def missing_images(report: Path) -> list[str]:
    """Images referenced by the Markdown file that do not exist next to it."""
    return [src for src in images(report.read_text()) if not (report.parent / src).is_file()]
