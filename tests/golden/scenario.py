"""The golden scenario: the seed spec's outputs on one generated world, masked where they depend on the
clock, the machine or chance, so that "behaviour unchanged" is a comparison of files.

Data: `chsync generate --scale 0.01 --seed 1` (the seed-shaped generator, chsync/demo/generate.py), and
`chsync demo --scale 0.01 --seed 1`. The golden files were first captured at commit 38745cf.

    python tests/golden/scenario.py --write      # (re)capture into tests/golden/files/ (needs Postgres)

A change that means to alter an output re-captures in the same commit and says why in its message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
REPO = HERE.parents[1]
FULL = ("--from", "2026-01-01", "--to", "2026-02-18")
SUB = ("--from", "2026-01-19", "--to", "2026-01-23")
SCALE, SEED = "0.01", "1"

# What varies from run to run, and how it is masked.
_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{4}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00|Z)?")
_CLOCK = re.compile(r"\b\d{2}:\d{2}:\d{2}\b")
_DURATION = re.compile(r"\b\d+(\.\d+)? s\b|\b\d+ min \d+ s\b|\b\d+ h \d+ min\b")
_RATE = re.compile(r"(calibrated: reading \S+ \([\d,]+ rows\) took )[\d.]+s; read \+ write ≈ [\d,]+ rows/s"
                   r"|[\d,]+ rows/s: earlier \w[\w-]* runs in the journal"
                   r"|≈[\d.]+K rows/s")
_STAGING = re.compile(r"(_staging_\d{8})(_[0-9a-z]+)+\b")
_PORT = re.compile(r"127\.0\.0\.1:\d+")
_MASKED_KEYS = {"seconds", "eta_seconds", "started", "start", "end", "at", "since", "run", "eta_basis",
                "workdir", "report", "report_html", "pid", "host", "claim", "oldest_proof_age_seconds"}
_MASKED_TEXT_KEYS = {"source", "sink"}    # URLs there; numbers under the same names are data


def mask_text(text: str, *paths: str) -> str:
    for path in paths:
        if path:
            text = text.replace(path, "<DIR>")
    text = _RUN_ID.sub("<RUN>", text)
    text = _RATE.sub(lambda m: (m.group(1) or "") + "<RATE>", text)
    text = _ISO_TIME.sub("<TIME>", text)
    text = _CLOCK.sub("<CLOCK>", text)
    text = _DURATION.sub("<DURATION>", text)
    text = _STAGING.sub(r"\1<SUFFIX>", text)
    return _PORT.sub("127.0.0.1:<PORT>", text)


def mask_json(doc, *paths: str):
    """Mask values under clock/machine keys; mask strings everywhere else."""
    if isinstance(doc, dict):
        return {k: ("<MASKED>" if (k in _MASKED_KEYS and not isinstance(v, (dict, list)))
                    or (k in _MASKED_TEXT_KEYS and isinstance(v, str)) else mask_json(v, *paths))
                for k, v in doc.items()}
    if isinstance(doc, list):
        return [mask_json(v, *paths) for v in doc]
    if isinstance(doc, str):
        return mask_text(doc, *paths)
    return doc


def _mask_svg_numbers(svg: str) -> str:
    """A chart drawn from timings: its geometry and ticks vary; what stays is its title and its steps."""
    title = re.search(r'aria-label="([^"]*)"', svg)
    steps = re.findall(r'<text[^>]*text-anchor="end"[^>]*>([^<]*)</text>', svg)
    return f"<svg timeline: {title.group(1) if title else '?'}; steps: {' | '.join(steps)}>"


def _mask_inline_timeline(html: str) -> str:
    return re.sub(r'(<svg[^>]*aria-label="Backfill timeline.*?</svg>)',
                  lambda m: _mask_svg_numbers(m.group(1)), html, flags=re.S)


class Runner:
    def __init__(self, source: str, sink: str, workdir: Path):
        # The CLI runs in the work directory, where `-m chsync` would import whichever chsync is installed:
        # this checkout's package goes first, so the capture is of the code under test.
        pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        self.env = {**os.environ, "CHSYNC_SOURCE": source, "CHSYNC_SINK": sink, "COLUMNS": "200",
                    "PYTHONPATH": pythonpath}
        self.workdir = workdir
        self.paths = [str(workdir), sink.split("://", 1)[1]]

    def run(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "chsync", *args], capture_output=True, text=True,
                              env=self.env, timeout=600, cwd=self.workdir)
        if expect is not None and done.returncode != expect:
            raise AssertionError(f"chsync {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def text(self, *args: str, expect: int = 0) -> str:
        return mask_text(self.run(*args, expect=expect).stdout, *self.paths)

    def json(self, *args: str, expect: int = 0) -> str:
        doc = json.loads(self.run(*args, "--json", expect=expect).stdout)
        return json.dumps(mask_json(doc, *self.paths), indent=2, sort_keys=True) + "\n"


def _journal(sink_url: str) -> str:
    """The journal rows (runs, days, lock), in the order written, masked. Read with chDB itself, not with
    chsync's code, so the capture does not depend on the code it checks."""
    code = f"""
import json
from chdb import session
s = session.Session({sink_url.split("://", 1)[1]!r})
out = {{}}
for t, order in (("chsync_runs", "at"), ("chsync_journal", "at, day"), ("chsync_locks", "at")):
    out[t] = [json.loads(line) for line in str(s.query(
        f"SELECT * FROM alaska_air_us_east_1.{{t}} ORDER BY {{order}}", "JSONEachRow")).splitlines() if line]
print(json.dumps(out, default=str))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise AssertionError(done.stderr)
    doc = json.loads(done.stdout)
    for rows in doc.values():
        for row in rows:
            if row.get("plan"):
                row["plan"] = mask_json(json.loads(row["plan"]))
    return json.dumps(mask_json(doc), indent=2, sort_keys=True) + "\n"


def capture(source: str, sink: str, workdir: Path) -> dict[str, str]:
    """Every golden output of the scenario: {file name: masked content}."""
    r = Runner(source, sink, workdir)
    out: dict[str, str] = {}
    r.run("generate", "--scale", SCALE, "--seed", SEED)
    r.run("init")
    out["scope.json"] = r.json("scope", *FULL, "--samples", "3")
    out["scope.md"] = r.text("scope", *FULL)
    report = workdir / "scope-out"
    r.run("scope", *SUB, "--out", str(report))
    for name in ("scope.md", "scope.html", "scope.json"):
        out[f"scope-out/{name}"] = mask_text((report / name).read_text(), *r.paths)
    for svg in sorted((report / "charts").glob("*.svg")):
        out[f"scope-out/charts/{svg.name}"] = svg.read_text()
    out["diff.json"] = r.json("diff", *FULL, "--limit", "5", expect=1)
    out["diff.txt"] = r.text("diff", *SUB, "--limit", "3", expect=1)
    out["diff-push.json"] = r.json("diff", *SUB, "--limit", "5", "--mode", "push", expect=1)
    out["verify-before.json"] = r.json("verify", *SUB, expect=1)
    out["verify-before.txt"] = r.text("verify", *SUB, expect=1)
    for strategy in ("auto", "swap", "repair", "bulk", "per-day"):
        out[f"plan-{strategy}.json"] = r.json("plan", *SUB, "--strategy", strategy)
    out["plan-swap.txt"] = r.text("plan", *SUB, "--strategy", "swap")
    out["plan-pull.json"] = r.json("plan", *SUB, "--strategy", "swap", "--mode", "pull")
    # one worker: the journal below lists each state as it happened, and two workers interleave the days
    out["backfill-swap.json"] = r.json("backfill", *SUB, "--strategy", "swap", "--yes", "--workers", "1")
    out["verify-after.json"] = r.json("verify", *SUB)
    out["verify-after.txt"] = r.text("verify", *SUB)
    out["backfill-repair.json"] = r.json("backfill", "--from", "2026-01-25", "--to", "2026-01-26",
                                         "--strategy", "repair", "--yes")
    out["backfill-resume-finished.txt"] = r.text("backfill", "--resume", "last", "--yes")
    out["runs.json"] = r.json("runs")
    out["runs.txt"] = r.text("runs")
    out["journal.json"] = _journal(sink)
    out["sync.json"] = r.json("sync", "--from", "2026-02-01", "--to", "2026-02-03")
    out["sync-pull.json"] = r.json("sync", "--from", "2026-02-04", "--to", "2026-02-05", "--mode", "pull")
    out["verify-sync.txt"] = r.text("verify", "--from", "2026-02-01", "--to", "2026-02-05")
    return out


def capture_demo(workdir: Path) -> dict[str, str]:
    """`chsync demo` on its own embedded Postgres: report.md, report.html, report.json, the charts."""
    demo = workdir / "demo"
    r = Runner("", "chdb:///unused", workdir)
    try:
        done = r.run("demo", "--scale", SCALE, "--seed", SEED, "--workdir", str(demo), "--json")
        paths = [str(demo), *r.paths]
        out = {"demo/stdout.json": json.dumps(mask_json(json.loads(done.stdout), *paths), indent=2,
                                              sort_keys=True) + "\n"}
        out["demo/report.md"] = mask_text((demo / "report.md").read_text(), *paths)
        out["demo/report.html"] = _mask_inline_timeline(mask_text((demo / "report.html").read_text(), *paths))
        for svg in sorted((demo / "charts").glob("*.svg")):
            text = svg.read_text()
            out[f"demo/charts/{svg.name}"] = _mask_svg_numbers(mask_text(text)) if svg.stem == "timeline" else text
        return out
    finally:
        r.run("embedded", "down", "--workdir", str(demo), expect=None)


def write(files: dict[str, str]) -> None:
    for name, content in files.items():
        path = FILES / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def stored() -> dict[str, str]:
    return {str(p.relative_to(FILES)): p.read_text() for p in sorted(FILES.rglob("*")) if p.is_file()}


def main() -> None:
    if "--write" not in sys.argv:
        sys.exit(__doc__)
    sys.path.insert(0, str(HERE.parent.parent))
    from chsync import embedded
    with tempfile.TemporaryDirectory(prefix="chsync-golden-") as tmp:
        urls = embedded.up(Path(tmp) / "pg")
        try:
            files = capture(urls["source"], f"chdb://{tmp}/chdb", Path(tmp))
            files.update(capture_demo(Path(tmp)))
        finally:
            embedded.down(Path(tmp) / "pg", purge=True)
    if FILES.exists():
        for old in FILES.rglob("*"):
            if old.is_file():
                old.unlink()
    write(files)
    print(f"wrote {len(files)} files into {FILES}")


if __name__ == "__main__":
    main()
