"""Document text (breakdown values, customer, stale reasons, changed columns, table names) is text in every
format, whatever it holds: Markdown tables keep their cells, HTML and SVG gain no element, and each format,
parsed back, shows the value as given.

No databases: the documents come from the pure-Python factory of test_report_html, their names replaced."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st
from mdtables import lines_of, raw_tables, read_cell, tables
from test_report_html import demo_doc, scope_doc

from chsync.demo.story import render_report
from chsync.report import charts, svg
from chsync.report.daily import DailyJob, DailyRun, RangeVerdict
from chsync.report.files import write_scope_report
from chsync.report.html import daily_job, demo_html, scope_html
from chsync.report.markdown import daily_job_markdown, scope_markdown

SVG = "{http://www.w3.org/2000/svg}"
MEASURED = ["care | vip", "<img src=x onerror=alert(1)>"]
PIECES = MEASURED + [
    "|", "\\", "\\|", "\n", "\r\n", "\r", "\t", " ", '"', "'", "`", "``", "*", "**", "_", "__", "~~", "#", "- ",
    "[x](javascript:alert(1))", "![i](x.svg)", "<script>alert('x')</script>", "</td>", "<b>", "&", "&amp;", "&lt;",
    "&#60;", "<", ">", "]]>", "<!--", "-->", "<![CDATA[", "é", "漢字", "🦆", "\u2028", "\x85", "\x0b", "\x01",
    "\x00", "\ufeff", "\ufffe"]
hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), min_size=1, max_size=8).map("".join)
text = st.one_of(hostile, hostile.map(lambda s: s * 150))   # very long too
names = st.lists(text, min_size=1, max_size=4, unique=True)

LINE_BREAK = re.compile(r"\r\n?|\n")
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Outside emphasis the code adds around whole cells, none of these may reach Markdown unescaped; an underscore
# only where it could delimit emphasis (not between two letters or digits).
ACTIVE_MARKDOWN = re.compile(r"\\.|([`*\[\]|<>]|(?<![^\W_])_|_(?![^\W_]))", re.S)


@dataclasses.dataclass
class Names:
    """The user-controlled strings of a scope/verify document."""
    customer: str
    usecases: list[str]
    reasons: list[str]
    columns: list[str]
    table: str
    sink_table: str

    def apply(self, doc: dict) -> dict:
        values = [{"value": u, "source": 1_000 * (i + 1), "sink": 1_000 * (i + 1) + 400 * (i % 2)}
                  for i, u in enumerate(self.usecases)]
        doc.update(customer=self.customer, table=self.table, sink_table=self.sink_table,
                   breakdown={"column": "usecase_id", "title": "Usecase", "values": values},
                   noun=["conversation", "conversations"],
                   stale_reasons={r: ((i + 1) % 3) * 500 for i, r in enumerate(self.reasons)},
                   changed_columns={c: 7 * (i + 1) for i, c in enumerate(self.columns)})
        return doc


names_of_documents = st.builds(Names, customer=text, usecases=names, reasons=names, columns=names, table=text,
                               sink_table=text)


def hostile_scope(n: Names) -> dict:
    return n.apply(scope_doc(days=3))


def hostile_demo(n: Names) -> dict:
    doc = demo_doc(days=3)
    n.apply(doc["before"])
    n.apply(doc["after"])
    doc["sync"]["customer"] = n.customer
    return doc


def label(usecase: str) -> str:
    return usecase or "(none)"


# -- Markdown ------------------------------------------------------------------------------------------------

def in_markdown(value: str) -> str:
    """What a Markdown viewer shows of a value in running text: line breaks are spaces."""
    return LINE_BREAK.sub(" ", value)


def in_cell(value: str) -> str:
    return in_markdown(value).strip(" \t")


def table_of(markdown: str, *header: str) -> list[list[str]]:
    found = [rows for h, rows in tables(markdown) if h == header]
    assert len(found) == 1, f"table {header}: found {len(found)}"
    return found[0]


def heading(markdown: str) -> str:
    return read_cell(next(line for line in lines_of(markdown) if line.startswith("# "))[2:])


def assert_markdown_is_inert(markdown: str) -> None:
    """Every table row has its header's cells; no user text is HTML or inline syntax."""
    assert "<" not in markdown and ">" not in markdown
    for header, rows in raw_tables(markdown):
        for row in rows:
            assert len(row) == len(header), (header, row)
            for cell in row:
                bare = re.fullmatch(r"\*\*(.*)\*\*", cell)
                active = [m.group(1) for m in ACTIVE_MARKDOWN.finditer(bare.group(1) if bare else cell) if m.group(1)]
                assert not active, f"unescaped {active} in {cell!r}"


def assert_drift_tables(markdown: str, doc: dict) -> None:
    reasons = [[in_cell(r), f"{n:,}"] for r, n in doc["stale_reasons"].items() if n]
    if reasons:
        assert table_of(markdown, "Stale reason", "Conversations") == reasons
    else:
        assert "No stale conversations." in markdown
    assert table_of(markdown, "Changed column", "Conversations") == [
        [in_cell(c), f"{n:,}"] for c, n in doc["changed_columns"].items()]


def assert_profiles_line(markdown: str, doc: dict) -> None:
    rows = dict(table_of(markdown, "Metric", "Count"))
    assert rows["Profiles scanned"] == f"88 (filtered to 1: {in_markdown(doc['customer'])})"


@settings(max_examples=100, deadline=None)
@given(names_of_documents)
def test_scope_markdown_keeps_every_value_in_its_cell(n: Names):
    doc = hostile_scope(n)
    page = scope_markdown(doc)
    assert_markdown_is_inert(page)
    subject = n.customer or n.table   # a table without customers is named by its table
    assert heading(page) == f"Scope: {in_markdown(subject)} {doc['from']} – {doc['to']}"
    assert [row[0] for row in table_of(page, "Usecase", "Postgres", "ClickHouse", "Ratio")] == [
        in_cell(label(u)) for u in n.usecases]
    assert_drift_tables(page, doc)
    assert_profiles_line(page, doc)


@settings(max_examples=60, deadline=None)
@given(names_of_documents)
def test_demo_markdown_keeps_every_value_in_its_cell(n: Names):
    doc = hostile_demo(n)
    page = render_report(doc)
    assert_markdown_is_inert(page)
    assert heading(page) == f"chsync demo: {in_markdown(n.customer)} backfill scope and repair"
    assert [row[0] for row in table_of(page, "Usecase", "Before", "After", "Postgres")] == [
        in_cell(label(u)) for u in n.usecases]
    assert_drift_tables(page, doc["before"])
    assert_profiles_line(page, doc["before"])


# -- HTML ----------------------------------------------------------------------------------------------------

class Page(HTMLParser):
    """The elements of a page, the text of its <title>, <h1> and <code>, and its tables as rows of cell text
    (not stripped: a cell must hold exactly the value)."""

    def __init__(self, page: str):
        super().__init__()
        self.elements, self.texts, self.tables = set(), {}, []
        self.capturing = self.row = self.cell = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.add(tag)
        if tag in ("title", "h1", "code") and tag not in self.texts:
            self.capturing = self.texts.setdefault(tag, [])
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.row = []
            self.tables[-1].append(self.row)
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("title", "h1", "code"):
            self.capturing = None
        elif tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        for sink in (self.capturing, self.cell):
            if sink is not None:
                sink.append(data)

    def text(self, tag: str) -> str:
        return "".join(self.texts[tag])

    def table(self, *header: str) -> list[list[str]]:
        found = [t[1:] for t in self.tables if tuple(t[0]) == header]
        assert len(found) == 1, f"table {header}: found {len(found)}"
        return found[0]


ELEMENTS_OF_A_REPORT = Page(scope_html(scope_doc())).elements | Page(demo_html(demo_doc())).elements


def assert_only_report_elements(page: str) -> Page:
    parsed = Page(page)
    assert parsed.elements <= ELEMENTS_OF_A_REPORT, parsed.elements - ELEMENTS_OF_A_REPORT
    assert "<script" not in page.lower()
    return parsed


@settings(max_examples=60, deadline=None)
@given(names_of_documents)
def test_scope_html_shows_every_value_as_text(n: Names):
    doc = hostile_scope(n)
    page = assert_only_report_elements(scope_html(doc))
    title = f"Scope: {n.customer or n.table} {doc['from']} – {doc['to']}"
    assert page.text("title") == page.text("h1") == title
    if n.sink_table:
        assert page.text("code") == n.sink_table
    else:
        assert "code" not in page.texts   # no sink table, no <code> for it
    assert [r[0] for r in page.table("Usecase", "Postgres", "ClickHouse", "Ratio")] == list(map(label, n.usecases))
    assert [r[0] for r in page.table("Changed column", "Conversations")] == n.columns
    assert dict(page.table("Metric", "Count"))["Profiles scanned"] == f"88 (filtered to 1: {n.customer})"


@settings(max_examples=60, deadline=None)
@given(names_of_documents)
def test_demo_html_shows_every_value_as_text(n: Names):
    page = assert_only_report_elements(demo_html(hostile_demo(n)))
    assert page.text("title") == page.text("h1") == f"chsync demo: {n.customer or n.table} backfill scope and repair"
    usecases = page.table("Usecase", "Before", "After", "Postgres", "Ratio before", "Ratio after")
    assert [r[0] for r in usecases] == list(map(label, n.usecases))
    assert [r[0] for r in page.table("Changed column", "Conversations")] == n.columns


# -- SVG -----------------------------------------------------------------------------------------------------

def in_xml(value: str) -> str:
    """What XML 1.0 can carry of a value: characters it forbids outright read back as U+FFFD."""
    return NOT_XML.sub("\ufffd", value)


def chart_texts(root: ET.Element) -> tuple[list[str], list[str]]:
    """(visible text, tooltips) of a parsed chart."""
    return ([t.text or "" for t in root.iter(f"{SVG}text")], [t.text or "" for t in root.iter(f"{SVG}title")])


def assert_labelled(texts: list[str], value: str) -> None:
    """The value is drawn as a label, whole or clipped with an ellipsis."""
    assert any(t == value or (t.endswith("…") and value.startswith(t[:-1])) for t in texts), value


def assert_usecase_chart(chart: str, usecases: list[dict], series: dict[str, str]) -> None:
    """`series`: {series name: key of the usecase's count}."""
    texts, tips = chart_texts(ET.fromstring(chart))
    for u in usecases:
        shown = in_xml(label(u["value"]))
        assert_labelled(texts, shown)
        for name, key in series.items():
            assert f"{shown} · {name}: {u[key]:,}" in tips


def assert_stale_chart(chart: str, reasons: dict[str, int]) -> None:
    texts, tips = chart_texts(ET.fromstring(chart))
    for reason, count in reasons.items():
        assert_labelled(texts, in_xml(reason))
        if count:
            explained = charts.STALE_REASONS.get(reason, reason)
            tip = f"{reason} · stale conversations: {count:,}" + (f"\n{explained}" if explained else "")
            assert in_xml(tip) in tips


@settings(max_examples=60, deadline=None)
@given(names_of_documents)
def test_scope_charts_parse_and_show_every_value(n: Names):
    doc = hostile_scope(n)
    drawn = {stem: svg_markup for stem, (_, svg_markup) in charts.scope_charts(doc).items()}
    for markup in drawn.values():
        ET.fromstring(markup)
    assert_usecase_chart(drawn["usecases"], doc["breakdown"]["values"], {"Postgres": "source", "ClickHouse": "sink"})
    assert_stale_chart(drawn["stale-reasons"], doc["stale_reasons"])


@settings(max_examples=40, deadline=None)
@given(names_of_documents)
def test_demo_charts_parse_and_show_every_value(n: Names):
    doc = hostile_demo(n)
    drawn = {stem: markup for stem, (_, markup) in charts.demo_charts(doc["before"], doc["after"],
                                                                      doc["timeline"]).items()}
    for markup in drawn.values():
        ET.fromstring(markup)
    assert_usecase_chart(drawn["usecases"], doc["before"]["breakdown"]["values"],
                         {"Postgres": "source", "ClickHouse (before)": "sink", "ClickHouse (after)": "sink"})
    assert_stale_chart(drawn["stale-reasons"], doc["before"]["stale_reasons"])


@settings(max_examples=100, deadline=None)
@given(title=text, labels=names, series=text, tooltip=text)
def test_chart_text_and_attributes_read_back_as_given(title, labels, series, tooltip):
    chart = svg.hbar_chart(title, labels, [svg.Series(series, [1] * len(labels), "#000")], x_label="x",
                           y_label="y", tooltips=[tooltip] * len(labels))
    root = ET.fromstring(chart)
    assert root.get("aria-label") == in_xml(title)
    texts, tips = chart_texts(root)
    assert texts[0] == in_xml(title)
    for lab in labels:
        assert_labelled(texts, in_xml(lab))
        assert in_xml(f"{lab} · {series}: 1" + (f"\n{tooltip}" if tooltip else "")) in tips


# -- the measured values, through the files `scope --out` writes ----------------------------------------------

def test_measured_values_stay_in_their_cells_of_scope_md(tmp_path):
    doc = scope_doc()
    for u, name in zip(doc["breakdown"]["values"], MEASURED):
        u["value"] = name
    write_scope_report(tmp_path, doc)
    markdown = (tmp_path / "scope.md").read_text(encoding="utf-8")
    rows = table_of(markdown, "Usecase", "Postgres", "ClickHouse", "Ratio")
    assert [r[0] for r in rows[:2]] == MEASURED
    assert all(len(r) == 4 for r in rows)
    assert "| care \\| vip |" in markdown
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)&gt;" in markdown
    assert "<img" not in (tmp_path / "scope.html").read_text(encoding="utf-8")
    written = sorted((tmp_path / "charts").glob("*.svg"))
    assert len(written) == 4
    usecases = ET.parse(tmp_path / "charts" / "usecases.svg").getroot()
    assert all(f"{name} · Postgres: {u['source']:,}" in chart_texts(usecases)[1]
               for u, name in zip(doc["breakdown"]["values"], MEASURED))
    for chart in written:
        ET.parse(chart)


# -- the daily job's runs: the notes of whoever made them are text too ---------------------------------------

def job_with_notes(notes: list[str]) -> DailyJob:
    """One run per note; the note is said of a drifted (and healed) day of its lookback."""
    runs = []
    for i, note in enumerate(notes):
        day = dt.date(2026, 2, 19) + dt.timedelta(days=i)
        checked = tuple(day - dt.timedelta(days=n) for n in range(3, 0, -1))
        runs.append(DailyRun(day, checked, (checked[0],), (checked[0],), 1_000 + i,
                             {checked[0]: {"stale": 2, "changed": 1}}, 1.5, {checked[0]: note}))
    return DailyJob(3, tuple(runs), RangeVerdict(dt.date(2026, 1, 1), runs[-1].day, 50, 1234, True))


@settings(max_examples=60, deadline=None)
@given(names)
def test_daily_job_notes_stay_text_in_every_format(notes: list[str]):
    job = job_with_notes(notes)
    header = ("Run (day synced)", "Days checked", "Drifted days", "Healed", "Rows written", "Drift fixed (rows)",
              "Time", "Changed in Postgres before the run")
    page = daily_job_markdown(job)
    assert_markdown_is_inert(page)
    rows = table_of(page, *header)
    assert [r[-1] for r in rows] == [in_cell(f"{r.checked[0]}: {note}") for r, note in zip(job.runs, notes)]
    assert [r[5] for r in rows] == ["2 stale, 1 changed"] * len(notes)
    html = Page(daily_job(job))
    assert html.elements <= ELEMENTS_OF_A_REPORT, html.elements - ELEMENTS_OF_A_REPORT
    assert [r[-1] for r in html.table(*header)] == [f"{r.checked[0]}: {note}" for r, note in zip(job.runs, notes)]
    for chart in charts.daily_job_charts(job).values():
        ET.fromstring(chart[1])
    _, tips = chart_texts(ET.fromstring(charts.daily_job_grid(job)))
    for run, note in zip(job.runs, notes):
        day = run.checked[0]
        assert in_xml(f"run of {run.day} · {day:%m-%d}\n{day}: drifted, healed: 2 stale, 1 changed conversations"
                      + (f"\n{note}" if note else "")) in tips
