"""The house rules that a reviewer would otherwise check by hand: no import cycles between chsync's
modules, the layers import only downwards, no module but the spec's knows the seed's columns, and the
repository points at nothing outside itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chsync"
# Lower layers first: a module may import its own layer and the ones before it, never one after it.
LAYERS = [
    {"errors", "secrets", "log", "dates", "progress", "timeline", "faults", "watchdog", "embedded", "memory",
     "__init__", "schemas"},
    {"spec"}, {"source"}, {"sink"}, {"policy"}, {"pull"}, {"diff"}, {"scope"}, {"strategies"}, {"plan"},
    {"apply"}, {"report"}, {"demo"}, {"api"}, {"cli", "__main__", "airflow"},
]
# The package's root re-exports the api's names, loaded on first use (PEP 562): its one edge upwards.
LAZY_EXPORTS = {("chsync", "chsync.api")}
SEED_COLUMNS = re.compile(
    r"\b(conversation_id|usecase_id|agent_user_id|is_dev_user|has_agent_assistance|source_type)\b")
OUTSIDE = re.compile(r"DESIGN(\.md| §)|FACTS|/work/|/home/|/root/|/Users/")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every chsync module this file imports, at module level or inside functions."""
    me = _module(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("chsync")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("chsync"):
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _exists(candidate) else target)
    return {m for m in found if m != me}


def _exists(module: str) -> bool:
    path = ROOT / module.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def test_no_import_cycles():
    graph = _graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    # a package's __init__ re-exporting its own modules is not a cycle that matters
    cycles = [c for c in cycles if not all(m.startswith(c[0].rsplit(".", 1)[0]) and
                                           c[0].rsplit(".", 1)[0] in c for m in c)]
    assert not cycles, f"import cycles: {cycles}"


def test_layers_import_only_downwards():
    wrong = [f"{m} ({_layer_name(m)}) imports {i} ({_layer_name(i)})"
             for m, imports in _graph().items() for i in imports
             if _layer(i) > _layer(m) and (m, i) not in LAZY_EXPORTS]
    assert not wrong, "\n".join(wrong)


def _layer_name(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_no_module_but_the_seed_spec_and_the_demo_names_the_seed_columns():
    offenders = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in PACKAGE.rglob("*.py")
                 if "demo" not in p.relative_to(PACKAGE).parts
                 for n, line in enumerate(p.read_text().splitlines(), 1) if SEED_COLUMNS.search(line)]
    assert not offenders, "\n".join(offenders)


def test_the_repository_points_at_nothing_outside_itself():
    files = [p for folder in ("chsync", "tests", "bench", "docs", "examples") for p in (ROOT / folder).rglob("*")
             if p.is_file() and p.suffix in (".py", ".md", ".toml", ".yml", ".sh")
             and "golden" not in p.relative_to(ROOT).parts and p.name != "test_house.py"]
    files += [ROOT / "README.md", ROOT / "BENCHMARKS.md", ROOT / "pyproject.toml"]
    offenders = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:120]}" for p in files if p.exists()
                 for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if OUTSIDE.search(line)]
    assert not offenders, "\n".join(offenders)
