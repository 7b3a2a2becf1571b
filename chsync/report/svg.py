"""Charts as inline SVG, drawn in Python: no JavaScript, no web fonts, no network.

Pure functions from data to one `<svg class="chart">` string, so the HTML report embeds them and a later
PNG export can rasterize the very same markup. Every chart has a visible title, axis labels, and a `<title>`
tooltip on each bar; bars carry `class="bar"`. A chart whose values are all zero says so ("no data yet")
instead of drawing an empty frame that looks like a rendering bug. Text is escaped here (`escape_xml`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

FONT = ("system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', "
        "'Liberation Sans', sans-serif")
INK, MUTED, GRID, AXIS = "#1f2328", "#57606a", "#e8eaed", "#8c959f"
EMPTY_TEXT = "no data yet"

# Characters XML 1.0 cannot carry at all, not even as character references (C0 controls, lone surrogates).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Whitespace an XML parser would normalise: a raw CR becomes LF, and in an attribute a line break or tab
# becomes a space. As character references they reach the reader as written.
KEEP_IN_TEXT = str.maketrans({"\r": "&#13;"})
KEEP_IN_ATTRIBUTE = str.maketrans({"\r": "&#13;", "\n": "&#10;", "\t": "&#9;"})


def escape_xml(value: object, *, attribute: bool = False) -> str:
    """Document text as SVG text content (or, with `attribute`, a quoted attribute value): & < > " ' as
    references, whitespace a parser would normalise as character references, what XML cannot carry as U+FFFD."""
    text = NOT_XML.sub("\ufffd", escape(str(value)))
    return text.translate(KEEP_IN_ATTRIBUTE if attribute else KEEP_IN_TEXT)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str


@dataclass(frozen=True)
class Cell:
    """One cell of a grid chart: its colour and tooltip (None in the grid: nothing drawn there)."""
    color: str
    tooltip: str = ""


@dataclass(frozen=True)
class Span:
    """One step of a Gantt chart: `start` and `seconds` relative to the first step's start."""
    label: str
    start: float
    seconds: float
    text: str = ""      # shown right of the bar (e.g. the duration)
    tooltip: str = ""   # extra tooltip lines


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def _text_width(text: str, size: float) -> float:
    """Rough width of system-font text; good enough to keep labels from colliding."""
    return len(text) * size * 0.58


def _clip(text: str, size: float, room: float) -> str:
    if _text_width(text, size) <= room:
        return text
    keep = max(1, int(room / (size * 0.58)) - 1)
    return text[:keep] + "…"


def nice_ticks(top: float, count: int = 5, *, integer: bool = True) -> list[float]:
    """0 … ≥top in 1-2-2.5-5 steps (about `count` of them)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    if integer:
        step = max(1, step if float(step).is_integer() else math.ceil(step))
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def time_ticks(top: float, count: int = 6) -> list[float]:
    """Ticks in seconds at human steps (5 s, 1 min, 15 min, 1 h …)."""
    steps = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
    step = next((s for s in steps if top / s <= count), 86400)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)] if top > 0 else [0, 1]


def seconds_label(s: float) -> str:
    if s < 60:
        return f"{s:g} s"
    if s < 3600:
        m, r = divmod(round(s), 60)
        return f"{m} min" + (f" {r} s" if r else "")
    h, r = divmod(round(s) // 60, 60)
    return f"{h} h" + (f" {r} min" if r else "")


class _Doc:
    def __init__(self, width: float, height: float, title: str):
        self.width, self.height, self.parts = width, height, []
        self.parts.append(
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape_xml(title, attribute=True)}" '
            f'font-family="{FONT}" font-size="12" fill="{INK}">')
        self.parts.append(f'<text class="chart-title" x="8" y="20" font-size="14" font-weight="600">'
                          f'{escape_xml(title)}</text>')

    def add(self, s: str) -> None:
        self.parts.append(s)

    def text(self, x: float, y: float, s: object, *, anchor: str = "start", size: float = 11, color: str = MUTED,
             cls: str = "", extra: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.add(f'<text{c} x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{color}"'
                 f'{extra}>{escape_xml(s)}</text>')

    def line(self, x1: float, y1: float, x2: float, y2: float, color: str = GRID, width: float = 1) -> None:
        self.add(f'<path d="M{x1:.1f} {y1:.1f}L{x2:.1f} {y2:.1f}" stroke="{color}" stroke-width="{width}"/>')

    def bar(self, x: float, y: float, w: float, h: float, color: str, tooltip: str) -> None:
        self.add(f'<rect class="bar" x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" fill="{color}">'
                 f'<title>{escape_xml(tooltip)}</title></rect>')

    def legend(self, series: Sequence[Series], x: float, y: float) -> None:
        for s in series:
            self.add(f'<rect class="swatch" x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" '
                     f'fill="{s.color}"/>')
            self.text(x + 14, y, s.name, size=12, color=INK)
            x += 14 + _text_width(s.name, 12) + 18

    def empty(self, cx: float, cy: float, text: str) -> None:
        self.text(cx, cy, text, anchor="middle", size=14, cls="empty")

    def done(self) -> str:
        return "".join(self.parts) + "</svg>"


def grouped_bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *, x_label: str, y_label: str,
                      width: float = 960, height: float = 300, tooltips: Sequence[str] | None = None,
                      empty_text: str = EMPTY_TEXT, legend: bool = True) -> str:
    """Vertical bars, one group per label, one bar per series (e.g. Postgres vs ClickHouse per day)."""
    labels = list(labels)
    top = max((v for s in series for v in s.values), default=0)
    left = 16 + max(_text_width(_num(t), 11) for t in nice_ticks(top)) + 24
    right = 8 + max((_text_width(lab, 11) for lab in labels[-1:]), default=0) / 2   # room for the last day's label
    top_m, bottom = (56 if legend else 40), 52
    pw, ph = width - left - right, height - top_m - bottom
    ticks = nice_ticks(top)
    ymax = ticks[-1]
    base = top_m + ph

    d = _Doc(width, height, title)
    if legend:
        d.legend(series, left, 40)
    for t in ticks if top > 0 else ticks[:1]:
        y = base - t / ymax * ph
        d.line(left, y, left + pw, y)
        d.text(left - 6, y + 4, _num(t), anchor="end")
    d.line(left, base, left + pw, base, AXIS)
    d.line(left, top_m, left, base, AXIS)
    d.text(14, top_m + ph / 2, y_label, anchor="middle", size=12,
           extra=f' transform="rotate(-90 14 {top_m + ph / 2:.1f})"')
    d.text(left + pw / 2, height - 8, x_label, anchor="middle", size=12)

    n = max(1, len(labels))
    slot = pw / n
    bw = slot * 0.8 / max(1, len(series))
    every = max(1, math.ceil(max((_text_width(lab, 11) + 10 for lab in labels), default=0) / slot))
    for i, lab in enumerate(labels):
        x0 = left + i * slot
        extra = f"\n{tooltips[i]}" if tooltips and tooltips[i] else ""
        summary = f"{lab}\n" + "\n".join(f"{s.name}: {_num(s.values[i])}" for s in series) + extra
        d.add(f'<rect class="hit" x="{x0:.2f}" y="{top_m}" width="{slot:.2f}" height="{ph:.2f}" '
              f'fill="transparent"><title>{escape_xml(summary)}</title></rect>')
        for j, s in enumerate(series):
            v = s.values[i]
            if v > 0:
                h = max(1.0, v / ymax * ph)
                d.bar(x0 + slot * 0.1 + j * bw, base - h, max(1.0, bw - 0.6), h, s.color,
                      f"{lab} · {s.name}: {_num(v)}{extra}")
        if i % every == 0:
            d.line(x0 + slot / 2, base, x0 + slot / 2, base + 4, AXIS)
            d.text(x0 + slot / 2, base + 17, lab, anchor="middle")
    if top <= 0:
        d.empty(left + pw / 2, top_m + ph / 2, empty_text)
    return d.done()


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, x_label: str, y_label: str,
              color: str = "#4e79a7", name: str = "", width: float = 960, height: float = 240,
              tooltips: Sequence[str] | None = None, empty_text: str = EMPTY_TEXT) -> str:
    """One bar per label (e.g. duplicate conversations per day)."""
    return grouped_bar_chart(title, labels, [Series(name or y_label, values, color)], x_label=x_label,
                             y_label=y_label, width=width, height=height, tooltips=tooltips,
                             empty_text=empty_text, legend=False)


def hbar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *, x_label: str, y_label: str,
               width: float = 960, bar_height: float = 12, tooltips: Sequence[str] | None = None,
               empty_text: str = EMPTY_TEXT) -> str:
    """Horizontal bars, one group per label (category names can be long), value printed at the bar's end."""
    labels = list(labels)
    top = max((v for s in series for v in s.values), default=0)
    ticks = nice_ticks(top)
    xmax = ticks[-1]
    legend = len(series) > 1
    label_room = min(220.0, max((_text_width(lab, 12) for lab in labels), default=40) + 8)
    left, right, top_m, bottom = 34 + label_room, 24 + _text_width(_num(top), 10), (56 if legend else 40), 46
    group = bar_height * len(series) + 12
    ph = max(group, group * len(labels))
    height = top_m + ph + bottom
    pw = width - left - right

    d = _Doc(width, height, title)
    if legend:
        d.legend(series, left, 40)
    for t in ticks if top > 0 else ticks[:1]:
        x = left + t / xmax * pw
        d.line(x, top_m, x, top_m + ph)
        d.text(x, top_m + ph + 16, _num(t), anchor="middle")
    d.line(left, top_m, left, top_m + ph, AXIS)
    d.line(left, top_m + ph, left + pw, top_m + ph, AXIS)
    d.text(14, top_m + ph / 2, y_label, anchor="middle", size=12,
           extra=f' transform="rotate(-90 14 {top_m + ph / 2:.1f})"')
    d.text(left + pw / 2, height - 6, x_label, anchor="middle", size=12)
    for i, lab in enumerate(labels):
        y0 = top_m + i * group + 6
        extra = f"\n{tooltips[i]}" if tooltips and tooltips[i] else ""
        d.text(left - 8, y0 + group / 2 - 2, _clip(lab, 12, label_room), anchor="end", size=12, color=INK)
        for j, s in enumerate(series):
            v = s.values[i]
            y = y0 + j * bar_height
            if v > 0:
                d.bar(left, y, max(1.0, v / xmax * pw), bar_height - 2, s.color, f"{lab} · {s.name}: {_num(v)}{extra}")
            if top > 0:
                d.text(left + max(1.0, v / xmax * pw) + 4, y + bar_height - 3.5, _num(v), size=10)
    if top <= 0:
        d.empty(left + pw / 2, top_m + ph / 2, empty_text)
    return d.done()


def gantt(title: str, spans: Sequence[Span], *, x_label: str = "time since the first step started",
          y_label: str = "step", width: float = 960, color: str = "#4e79a7",
          tick_format: Callable[[float], str] = seconds_label, empty_text: str = EMPTY_TEXT) -> str:
    """One bar per step from its start to its end on a shared time axis (the seed's Timeline, drawn)."""
    spans = list(spans)
    end = max((s.start + s.seconds for s in spans), default=0)
    ticks = time_ticks(end)
    xmax = ticks[-1]
    label_room = min(300.0, max((_text_width(s.label, 12) for s in spans), default=40) + 8)
    left, right, top_m, bottom, row = 34 + label_room, 8 + _text_width(tick_format(ticks[-1]), 11) / 2, 40, 46, 26
    ph = max(row, row * len(spans))
    height = top_m + ph + bottom
    pw = width - left - right

    d = _Doc(width, height, title)
    for t in ticks:
        x = left + t / xmax * pw
        d.line(x, top_m, x, top_m + ph)
        d.text(x, top_m + ph + 16, tick_format(t), anchor="middle")
    d.line(left, top_m, left, top_m + ph, AXIS)
    d.line(left, top_m + ph, left + pw, top_m + ph, AXIS)
    d.text(14, top_m + ph / 2, y_label, anchor="middle", size=12,
           extra=f' transform="rotate(-90 14 {top_m + ph / 2:.1f})"')
    d.text(left + pw / 2, height - 6, x_label, anchor="middle", size=12)
    for i, s in enumerate(spans):
        y = top_m + i * row
        d.text(left - 8, y + row / 2 + 4, _clip(s.label, 12, label_room), anchor="end", size=12, color=INK)
        x = left + s.start / xmax * pw
        w = max(2.0, s.seconds / xmax * pw)
        tip = f"{s.label}\n{s.text}" + (f"\n{s.tooltip}" if s.tooltip else "")
        d.bar(x, y + 5, w, row - 10, color, tip)
        if s.text:   # after the bar, or before it when the bar runs to the right edge
            after = x + w + 6 + _text_width(s.text, 11) <= left + pw
            d.text(x + w + 6 if after else x - 6, y + row / 2 + 4, s.text, anchor="start" if after else "end")
    if not spans:
        d.empty(left + pw / 2, top_m + ph / 2, empty_text)
    return d.done()


def grid_chart(title: str, row_labels: Sequence[str], column_labels: Sequence[str],
               cells: Sequence[Sequence[Cell | None]], *, legend: Sequence[tuple[str, str]], x_label: str,
               y_label: str, width: float = 960, row_height: float = 24,
               empty_text: str = EMPTY_TEXT) -> str:
    """A row of cells per label (e.g. per run of a job) on shared columns (e.g. calendar days): each cell
    coloured by its state, with a tooltip; `legend`: (name, colour) of each state."""
    rows, columns = list(row_labels), list(column_labels)
    label_room = min(220.0, max((_text_width(lab, 12) for lab in rows), default=40) + 8)
    top_m, bottom = (56 if legend else 40), 52
    left, right = 34 + label_room, 8 + max((_text_width(c, 11) for c in columns[-1:]), default=0) / 2
    ph = max(row_height, row_height * len(rows))
    height = top_m + ph + bottom
    pw = width - left - right
    slot = pw / max(1, len(columns))

    d = _Doc(width, height, title)
    if legend:
        d.legend([Series(name, (), color) for name, color in legend], left, 40)
    d.text(14, top_m + ph / 2, y_label, anchor="middle", size=12,
           extra=f' transform="rotate(-90 14 {top_m + ph / 2:.1f})"')
    d.text(left + pw / 2, height - 8, x_label, anchor="middle", size=12)
    d.line(left, top_m + ph, left + pw, top_m + ph, AXIS)
    every = max(1, math.ceil(max((_text_width(c, 11) + 10 for c in columns), default=0) / slot))
    for j, col in enumerate(columns):
        if j % every == 0:
            x = left + j * slot + slot / 2
            d.line(x, top_m + ph, x, top_m + ph + 4, AXIS)
            d.text(x, top_m + ph + 17, col, anchor="middle")
    drawn = 0
    for i, lab in enumerate(rows):
        y = top_m + i * row_height
        d.text(left - 8, y + row_height / 2 + 4, _clip(lab, 12, label_room), anchor="end", size=12, color=INK)
        d.line(left, y + row_height / 2, left + pw, y + row_height / 2)
        for j, cell in enumerate(cells[i] if i < len(cells) else ()):
            if cell is None or j >= len(columns):
                continue
            d.bar(left + j * slot + 1, y + 3, max(1.0, slot - 2), row_height - 6, cell.color,
                  f"{lab} · {columns[j]}" + (f"\n{cell.tooltip}" if cell.tooltip else ""))
            drawn += 1
    if not drawn:
        d.empty(left + pw / 2, top_m + ph / 2, empty_text)
    return d.done()
