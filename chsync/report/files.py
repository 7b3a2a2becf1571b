"""A report written to a directory: the Markdown, the HTML page, the JSON document, and the charts as
standalone SVG files in `charts/` next to the Markdown (which shows them with `![alt](charts/NAME.svg)`)."""

from __future__ import annotations

import json
from pathlib import Path

from . import charts
from .html import scope_html
from .markdown import escape_markdown, scope_markdown

CHARTS_DIR = "charts"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def write_charts(directory: str | Path, named: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Write each `{stem: (alt, svg)}` to DIRECTORY/charts/STEM.svg; returns `{stem: Markdown image}`."""
    folder = Path(directory) / CHARTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    images = {}
    for stem, (alt, markup) in named.items():
        (folder / f"{stem}.svg").write_text(XML_DECLARATION + markup + "\n", encoding="utf-8")
        images[stem] = f"![{escape_markdown(alt)}]({CHARTS_DIR}/{stem}.svg)"
    return images


def write_scope_report(directory: str | Path, doc: dict) -> None:
    """`scope --out DIR`: scope.md (with its charts), scope.html, scope.json."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    images = write_charts(out, charts.scope_charts(doc))
    (out / "scope.md").write_text(scope_markdown(doc, images=images), encoding="utf-8")
    (out / "scope.html").write_text(scope_html(doc), encoding="utf-8")
    (out / "scope.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
