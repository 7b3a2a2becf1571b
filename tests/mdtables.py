"""Reading a report.md back: its tables as rows of cells, the numbers in a cell, the images it references.

Independent of chsync's own Markdown code, so a test comparing these with the JSON document checks the
rendering instead of repeating it."""

from __future__ import annotations

import re
from pathlib import Path

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def tables(markdown: str) -> list[tuple[tuple[str, ...], list[list[str]]]]:
    """Every pipe table as (header, rows); cells stripped of spaces and of ** emphasis."""
    found, lines = [], markdown.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(?:-+\|)+", lines[i + 1]):
            header = tuple(_cells(lines[i]))
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            assert all(len(r) == len(header) for r in rows), f"ragged table {header}"
            found.append((header, rows))
        else:
            i += 1
    return found


def _cells(line: str) -> list[str]:
    return [c.strip().replace("**", "") for c in line.strip()[1:-1].split("|")]


def numbers(cell: str) -> list[float]:
    """The numbers written in a cell, thousands separators stripped ("1,234 / 1,200 unique" → [1234, 1200])."""
    return [float(n.replace(",", "")) for n in NUMBER.findall(cell)]


def images(markdown: str) -> list[str]:
    return IMAGE.findall(markdown)


def missing_images(report: Path) -> list[str]:
    """Images referenced by the Markdown file that do not exist next to it."""
    return [src for src in images(report.read_text()) if not (report.parent / src).is_file()]
