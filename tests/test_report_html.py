"""The HTML report: its numbers are the document's, user text is escaped, and a real browser (Debian's
chromium, headless, driven over the DevTools protocol on a pipe — no websocket, no extra package) loads it
offline without console errors, draws every chart with non-zero-sized bars, and paints a non-blank page.

No databases: the scope and demo documents are built here by a small pure-Python factory."""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import json
import os
import random
import re
import select
import shutil
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chsync.report.html import demo_html, scope_html

USECASES = ["reservations", "reservations-chat", "customer-care", "cargo", "central-baggage", "chat", "cco"]
MIX = [0.648, 0.185, 0.099, 0.027, 0.022, 0.012, 0.007]
SINK_RATIO = {"reservations-chat": 1.4, "chat": 0.8}
NASTY = '<script>alert("x")</script> & Air'


# -- documents ---------------------------------------------------------------------------------------------

def scope_doc(*, days: int = 10, customer: str = "alaska-air", drifted: bool = True,
              first: dt.date = dt.date(2026, 1, 15)) -> dict:
    """A scope/verify document shaped like `chsync scope --json`, consistent in its totals."""
    rnd = random.Random(49)
    rows = []
    for i in range(days):
        day = first + dt.timedelta(days=i)
        source = 26_000 + rnd.randint(0, 8_000) + (14_000 if day.weekday() == 6 else 0)
        dups, stale, missing, changed = {3: 547, 7: 238}.get(i, 0), rnd.randint(300, 2_500), rnd.randint(1, 40), \
            rnd.randint(50, 600)
        missing = missing if i % 3 == 0 else 0
        if not drifted:   # same sources (the random draws stay the same), no drift
            dups = stale = missing = changed = 0
        distinct = source - missing + stale
        extra = dups + dups // 10
        rows.append({"day": day.isoformat(), "source": source, "sink_rows": distinct + extra, "sink_distinct": distinct,
                     "duplicates": dups, "extra_duplicate_rows": extra, "missing": missing, "stale": stale,
                     "changed": changed, "in_sync": not (dups or stale or missing or changed)})
    conversations = sum(d["source"] for d in rows)
    totals = {k: sum(d[k] for d in rows) for k in ("missing", "stale", "changed")}
    stale = totals["stale"]
    reasons = dict.fromkeys(["deleted", "ended_at_reset", "day_moved", "dev_user", "source_type_changed",
                             "no_agent_assistance", "customer_changed"], 0)
    reasons.update(dev_user=stale // 2, ended_at_reset=stale // 5, day_moved=stale // 7,
                   source_type_changed=stale // 10)
    reasons["deleted"] = stale - sum(reasons.values())
    split = [round(conversations * m) for m in MIX[:-1]]
    split.append(conversations - sum(split))
    values = [{"value": u, "source": n, "sink": round(n * SINK_RATIO.get(u, 1.0)) if drifted else n}
              for u, n in zip(USECASES, split)]
    sink_rows, distinct = sum(d["sink_rows"] for d in rows), sum(d["sink_distinct"] for d in rows)
    dup_total = sum(d["duplicates"] for d in rows)
    return {
        "schema": "chsync.scope/2",
        "customer": customer, "from": rows[0]["day"], "to": rows[-1]["day"], "sink_table": "conversation_with_labels_d",
        "source": {"rows": conversations, "units_scanned": 88, "units_matched": 1},
        "sink": {"rows": sink_rows, "distinct": distinct, "duplicate_keys": dup_total,
                 "extra_duplicate_rows": sink_rows - distinct,
                 "duplicates_by_placement": {"same_shard": dup_total - 40 if dup_total else 0,
                                             "cross_shard": 40 if dup_total else 0}},
        "days": rows, "breakdown": {"column": "usecase_id", "title": "Usecase", "values": values},
        "totals": totals, "stale_reasons": reasons,
        "changed_columns": ({"usecase_id": totals["changed"] * 2 // 3,
                             "agent_user_id": totals["changed"] - totals["changed"] * 2 // 3} if drifted else {}),
        "in_sync": all(d["in_sync"] for d in rows),
    }


def demo_doc(*, days: int = 10, customer: str = "alaska-air") -> dict:
    before, after = scope_doc(days=days, customer=customer), scope_doc(days=days, customer=customer, drifted=False)
    sync_days = [{"day": b["day"], "source": b["source"], "sink_rows_before": b["sink_rows"],
                  "rows_written": b["source"], "action": "swap", "seconds": 1.5 + i / 10}
                 for i, b in enumerate(before["days"])]
    t0 = dt.datetime(2026, 2, 19, 1, 32, 49, tzinfo=dt.UTC)
    steps, t = [], t0
    for name, seconds, rows in [("Start embedded Postgres + chDB", 2.4, None),
                                ("Generate seed-shaped data (scale 0.75)", 74.2, before["sink"]["rows"]),
                                ("Scope (before)", 21.8, None),
                                (f"Sync {days} days (stage + REPLACE PARTITION)", 917.0,
                                 sum(d["rows_written"] for d in sync_days)),
                                ("Verify (= scope after)", 12.3, None)]:
        end = t + dt.timedelta(seconds=seconds)
        steps.append({"step": name, "start": t.isoformat(timespec="seconds"), "end": end.isoformat(timespec="seconds"),
                      "seconds": seconds, "rows": rows})
        t = end + dt.timedelta(seconds=0.4)
    return {"workdir": "/tmp/demo", "scale": 0.75, "seed": 1, "source": "postgresql://...", "sink": "chdb:///tmp",
            "before": before, "after": after, "timeline": steps,
            "sync": {"customer": customer, "units_scanned": 88, "units_matched": 1, "days": sync_days,
                     "rows_written": sum(d["rows_written"] for d in sync_days), "refused": []}}


# -- parse checks --------------------------------------------------------------------------------------------

class Tables(HTMLParser):
    """Text of each cell of each table with an id: {id: [[cell, ...], ...]} (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id"):
            self.current = self.tables.setdefault(dict(attrs)["id"], [])
        elif self.current is not None and tag == "tr":
            self.row = []
            self.current.append(self.row)
        elif self.row is not None and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.current = self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables_of(page: str) -> dict[str, list[list[str]]]:
    p = Tables()
    p.feed(page)
    return p.tables


def number(cell: str) -> int:
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", cell), f"not a number with thousands separators: {cell!r}"
    return int(cell.replace(",", ""))


def test_daily_volume_table_is_the_documents_numbers():
    doc = scope_doc()
    rows = tables_of(scope_html(doc))["daily-volume-table"]
    header, body = rows[0], rows[1:]
    assert header[:5] == ["Day", "Postgres (filter)", "ClickHouse rows", "ClickHouse unique", "CH duplicates"]
    assert len(body) == len(doc["days"]) == 10
    for cells, d in zip(body, doc["days"]):
        assert cells[0].startswith(d["day"] + " (")
        assert [number(c) for c in cells[1:8]] == [d["source"], d["sink_rows"], d["sink_distinct"], d["duplicates"],
                                                   d["missing"], d["stale"], d["changed"]]
        assert cells[8] == ("in sync" if d["in_sync"] else "out of sync")
    assert sum(1 for d in doc["days"] if d["duplicates"]) == 2


def test_demo_tables_match_before_after_and_timeline():
    doc = demo_doc()
    page = demo_html(doc)
    t = tables_of(page)
    for cells, b, a, w in zip(t["daily-volume-table"][1:], doc["before"]["days"], doc["after"]["days"],
                              doc["sync"]["days"]):
        assert number(cells[1]) == b["source"] and number(cells[2]) == b["sink_rows"]
        assert number(cells[8]) == w["rows_written"] and number(cells[9]) == a["sink_rows"]
    usecases = {r[0]: r for r in t["usecase-table"][1:]}
    assert len(usecases) == 7
    u = doc["before"]["breakdown"]["values"][1]
    assert usecases["reservations-chat"][1:4] == [f"{u['sink']:,}", f"{u['source']:,}", f"{u['source']:,}"]
    assert usecases["reservations-chat"][4] == "1.40x"
    timeline = t["timeline-table"]
    assert [r[0] for r in timeline[1:]] == [s["step"] for s in doc["timeline"]] + ["Total"]
    assert timeline[4][3] == "15 min 17 s" and timeline[4][1] == "01:34:28"
    results = {r[0]: r[1:] for r in t["results-table"][1:]}
    assert results["Duplicate conversations"] == [f"{doc['before']['sink']['duplicate_keys']:,}", "0"]
    for section in ("data-volume-summary", "clickhouse-vs-postgres", "daily-volume", "usecase-distribution",
                    "duplicate-impact", "backfill-timeline", "results", "comparison-with-postgres"):
        assert f'<section id="{section}">' in page
    assert "Verify: in sync" in page


def test_scope_only_leaves_out_what_it_has_no_data_for():
    page = scope_html(scope_doc())
    for section in ("data-volume-summary", "clickhouse-vs-postgres", "daily-volume", "usecase-distribution"):
        assert f'<section id="{section}">' in page
    for section in ("duplicate-impact", "backfill-timeline", "results", "comparison-with-postgres"):
        assert f'id="{section}"' not in page


def test_in_sync_verify_document_says_no_data_yet_for_stale_reasons():
    page = scope_html(scope_doc(drifted=False), title="Verify")
    chart = next(s for s in re.findall(r"<svg .*?</svg>", page, re.S) if "Why stale" in s)
    assert "no data yet" in chart and 'class="bar"' not in chart
    assert "No changed conversations." in page


def test_user_text_is_escaped_and_charts_are_well_formed_svg():
    for page in (scope_html(scope_doc(customer=NASTY)), demo_html(demo_doc(customer=NASTY))):
        assert "<script" not in page.lower()
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Air" in page
        charts = re.findall(r"<svg .*?</svg>", page, re.S)
        assert charts
        for chart in charts:
            root = ET.fromstring(chart)   # well-formed XML, so a PNG export can take it as is
            bars = root.findall(".//{http://www.w3.org/2000/svg}rect[@class='bar']")
            assert all(b.find("{http://www.w3.org/2000/svg}title").text for b in bars)
            assert root.find("{http://www.w3.org/2000/svg}text").get("class") == "chart-title"
        assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in page


def test_formats_like_the_seed():
    page = demo_html(demo_doc())
    assert re.search(r"\d{1,3},\d{3},\d{3}", page)           # e.g. 1,510,418
    assert "2026-01-20 (Tue)" in page
    assert "15 min 17 s" in page


# -- in a real browser ---------------------------------------------------------------------------------------

def chromium_binary() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Browser:
    """Headless chromium driven over the DevTools protocol on `--remote-debugging-pipe` (fd 3 in, fd 4 out,
    NUL-separated JSON): commands, their results, and the events (console, exceptions, log) in between."""

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--remote-debugging-pipe"]

    def __init__(self, binary: str, profile: Path):
        def high(fd: int) -> int:   # above 4, so the redirections below never clobber one of our own ends
            moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(fd)
            return moved
        to_chrome_r, self.to_chrome = map(high, os.pipe())
        self.from_chrome, from_chrome_w = map(high, os.pipe())
        # bash (dash refuses fds > 9) puts our pipe ends on fds 3/4 of the browser, whatever numbers they have
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&-',
             binary, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=(log := open(profile / "chromium.log", "wb")))
        log.close()   # the child keeps its own copy
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf, self.events, self.next_id = b"", [], 0

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 20) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        reply = self._until(lambda m: m.get("id") == self.next_id, timeout)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply["result"]

    def wait_event(self, method: str, timeout: float = 20) -> dict:
        return self._until(lambda m: m.get("method") == method, timeout)

    def _until(self, wanted, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                m = json.loads(raw)
                if "method" in m:
                    self.events.append(m)
                if wanted(m):
                    return m
            left = deadline - time.monotonic()
            # poll, not select: select() cannot watch a descriptor numbered above 1024, and a long test
            # session holds more (chDB keeps a few descriptors per session it has opened and closed)
            poller = select.poll()
            poller.register(self.from_chrome, select.POLLIN)
            if left <= 0 or not poller.poll(left * 1000):
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium exited ({self.proc.poll()})")
            self.buf += chunk

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_chrome)
        os.close(self.from_chrome)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = chromium_binary()
    if not binary:
        pytest.skip("chromium not installed (as root: apt-get update && apt-get install -y --no-install-recommends "
                    "chromium); set CHROMIUM=/path/to/chromium to use another build")
    b = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        b.call("Browser.getVersion", timeout=30)
        yield b
    finally:
        b.close()


CHARTS_JS = """JSON.stringify({
  scripts: document.scripts.length,
  overflow: document.documentElement.scrollWidth > window.innerWidth,
  height: document.documentElement.scrollHeight,
  title: document.title,
  charts: [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const bars = [...svg.querySelectorAll('rect.bar')];
    const drawn = bars.filter(b => { const r = b.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
    const empty = svg.querySelector('text.empty');
    const texts = [...svg.querySelectorAll('text')];
    const outside = texts.filter(t => { const r = t.getBoundingClientRect();
      return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1); }).map(t => t.textContent);
    return {title: svg.getAttribute('aria-label'), width: box.width, height: box.height, bars: bars.length,
            drawn: drawn.length, tooltips: bars.filter(b => (b.querySelector('title') || {}).textContent).length,
            empty: empty ? empty.textContent : null, axis_labels: texts.length, outside};
  })})"""


def load(browser: Browser, page: Path, png: Path) -> dict:
    """Open the file in a fresh tab, wait for load, measure the charts, screenshot the whole page."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    first_event = len(browser.events)
    for domain in ("Page", "Runtime", "Log"):
        browser.call(f"{domain}.enable", session=session)
    browser.call("Emulation.setDeviceMetricsOverride",
                 {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=session)
    browser.call("Page.navigate", {"url": page.as_uri()}, session=session)
    browser._until(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session, 20)
    result = browser.call("Runtime.evaluate", {"expression": CHARTS_JS, "returnByValue": True}, session=session)
    info = json.loads(result["result"]["value"])
    clip = {"x": 0, "y": 0, "width": 1280, "height": info["height"]}
    shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                   "clip": {**clip, "scale": 1}}, session=session)
    png.write_bytes(base64.b64decode(shot["data"]))
    small = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                    "clip": {**clip, "scale": 0.25}}, session=session)
    info["small_png"] = base64.b64decode(small["data"])
    info["problems"] = [_describe(e) for e in browser.events[first_event:]
                        if e.get("sessionId") == session and _is_problem(e)]
    browser.call("Target.closeTarget", {"targetId": target})
    return info


def _is_problem(event: dict) -> bool:
    p = event.get("params", {})
    return (event["method"] == "Runtime.exceptionThrown"
            or (event["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"))
            or (event["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning")))


def _describe(event: dict) -> str:
    return json.dumps(event.get("params"))[:500]


def png_colours(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct colours) of an 8-bit RGB/RGBA non-interlaced PNG, decoded with zlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 4 if colour == 6 else 3
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    prev, colours = bytearray(stride), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp))
        prev = line
    return width, height, len(colours)


@pytest.mark.parametrize("kind", ["scope", "demo"])
def test_renders_in_chromium(browser, tmp_path, kind):
    doc = scope_doc(customer=NASTY) if kind == "scope" else demo_doc(customer=NASTY)
    page = tmp_path / f"{kind}.html"
    page.write_text(scope_html(doc) if kind == "scope" else demo_html(doc), encoding="utf-8")
    info = load(browser, page, tmp_path / f"{kind}.png")

    assert info["problems"] == [], "console errors/warnings:\n" + "\n".join(info["problems"])
    assert info["scripts"] == 0 and NASTY in info["title"]   # the name shows as text, never runs
    assert not info["overflow"], "the page scrolls sideways at 1280 px"
    expected = 4 if kind == "scope" else 5   # daily volume, duplicates, usecases, stale reasons (+ timeline)
    assert len(info["charts"]) == expected, [c["title"] for c in info["charts"]]
    for chart in info["charts"]:
        assert chart["width"] > 300 and chart["height"] > 100, chart
        assert chart["drawn"] > 0 and chart["drawn"] == chart["bars"] == chart["tooltips"], chart
        assert chart["empty"] is None and chart["axis_labels"] >= 5, chart
        assert chart["outside"] == [], f"text outside the chart: {chart}"
    width, height, colours = png_colours(info["small_png"])
    assert width == 320 and height > 500
    assert colours > 30, f"screenshot looks blank ({colours} colours)"


def test_empty_chart_says_so_in_chromium(browser, tmp_path):
    page = tmp_path / "verify.html"
    page.write_text(scope_html(scope_doc(drifted=False), title="Verify"), encoding="utf-8")
    info = load(browser, page, tmp_path / "verify.png")
    assert info["problems"] == []
    stale = next(c for c in info["charts"] if c["title"].startswith("Why stale"))
    assert stale["bars"] == 0 and stale["empty"] == "no data yet"
    duplicates = next(c for c in info["charts"] if "duplicate" in c["title"])
    assert duplicates["empty"] == "no data yet"
