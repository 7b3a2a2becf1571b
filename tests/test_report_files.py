"""A report written to a directory carries its charts as standalone SVG files next to the Markdown."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mdtables import images, missing_images

SVG = "{http://www.w3.org/2000/svg}"


def assert_drawn_svg(path) -> None:
    """Valid standalone SVG (parses as XML in the SVG namespace) with bars drawn, not an empty frame."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg", path
    bars = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar" and float(e.get("width")) > 0
            and float(e.get("height")) > 0]
    assert bars, f"{path.name}: no bars drawn"
    assert not [e for e in root.iter(f"{SVG}text") if e.get("class") == "empty"], f"{path.name} says no data"


def test_scope_out_writes_every_chart_as_svg_beside_scope_md(scope_report):
    out = scope_report.out
    report = out / "scope.md"
    charts = sorted(p.name for p in (out / "charts").glob("*.svg"))
    assert charts == ["daily-volume.svg", "duplicates.svg", "stale-reasons.svg", "usecases.svg"]
    for name in charts:
        assert_drawn_svg(out / "charts" / name)
    assert sorted(images(report.read_text())) == [f"charts/{n}" for n in charts]
    assert missing_images(report) == []
    assert (out / "scope.html").is_file() and (out / "scope.json").is_file()
