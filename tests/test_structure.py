"""The house's structure, checked on the source: the harness root's rooms, imports at the top of
each file (the few deferred ones with their reason), no import cycle, no import that runs back up
the flow, and commands that stay light (plan, report and readings without torch; a trial, its data
and the model without Ray)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "harness"
MAX_ROOT_MODULES = 8  # besides the packages and __init__
MAX_DEFERRED = 10  # function-local imports outside cli.py (the command line defers its commands' imports)
# Data flows one way: matrix -> runner -> trial -> results on disk -> report. A room may not import
# the rooms downstream of... nothing may import what runs it.
NOT_IMPORTED_BY = {
    "harness.trial": ("harness.runner", "harness.report", "harness.matrix"),
    "harness.data": ("harness.runner", "harness.report", "harness.matrix", "harness.trial"),
    "harness.evaluation": ("harness.runner", "harness.report", "harness.matrix", "harness.trial"),
    "harness.report": ("harness.runner", "harness.trial", "harness.matrix"),
    "harness.matrix": ("harness.runner", "harness.trial", "harness.report"),
    "models": ("harness",),
}


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, ast.Module]:
    files = list(HARNESS.rglob("*.py")) + list((ROOT / "models").rglob("*.py"))
    return {_module(p): ast.parse(p.read_text()) for p in files}


def _top_level_imports(tree: ast.Module, known: set[str]) -> list[str]:
    """Modules imported at module level (not inside functions, not under `if TYPE_CHECKING`):
    `from P import m` names the module P.m where there is one, else P."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known]
            out += subs if len(subs) == len(node.names) else [node.module, *subs]
    return out


def _deferred_imports(tree: ast.Module) -> list[ast.stmt]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return found


def test_the_harness_root_holds_few_modules_beside_its_rooms():
    modules = sorted(p.name for p in HARNESS.glob("*.py") if p.name != "__init__.py")
    assert len(modules) <= MAX_ROOT_MODULES, modules
    rooms = sorted(p.name for p in HARNESS.iterdir() if (p / "__init__.py").is_file())
    assert {"config", "matrix", "runner", "trial", "data", "evaluation", "report", "tables", "paper"} <= set(rooms)


def test_imports_are_at_the_top_and_the_few_deferred_ones_say_why():
    deferred = []
    for path in HARNESS.rglob("*.py"):
        if path.name == "cli.py":
            continue
        lines = path.read_text().splitlines()
        for node in _deferred_imports(ast.parse("\n".join(lines))):
            here, above = lines[node.lineno - 1], lines[node.lineno - 2]
            deferred.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            assert "#" in here or above.strip().startswith("#"), f"{deferred[-1]}: a deferred import without its reason"
    assert len(deferred) <= MAX_DEFERRED, deferred


def test_no_import_cycle():
    sources = _sources()
    known = set(sources)
    graph = {}
    for name, tree in sources.items():
        edges = set()
        for target in _top_level_imports(tree, known):
            while target and target not in known:
                target = target.rpartition(".")[0]
            # a module reaching its own package (to import a sibling) is how packages work, not a cycle
            if target and target != name and not name.startswith(target + "."):
                edges.add(target)
        graph[name] = edges

    def cycle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], {start}
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return path + [nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [c for c in (cycle_from(m) for m in sorted(graph)) if c]
    assert not cycles, cycles[:3]


def test_no_import_runs_back_up_the_flow():
    sources = _sources()
    for room, forbidden in NOT_IMPORTED_BY.items():
        for name, tree in sources.items():
            if name != room and not name.startswith(room + "."):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    targets = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                    for t in targets:
                        assert not any(t == f or t.startswith(f + ".") for f in forbidden), f"{name} imports {t}"


NOT_LOADED = "\nimport sys\nloaded = [m for m in {names!r} if m in sys.modules]\nassert not loaded, loaded\n"


@pytest.mark.parametrize("heavy, code", [
    # the light commands: a matrix's plan, a results folder's report, the declared readings
    (("torch", "ray", "cv2", "pycocotools", "xtcocotools"),
     "import harness.cli, harness.matrix.plan_view, harness.report.build, harness.paper.readings_view"),
    # what a trial, its data and the model import: never Ray
    (("ray",), "import harness.trial.run, harness.trial.evaluation, harness.data.build, models.build"),
])
def test_light_imports_stay_light(heavy, code):
    run = subprocess.run([sys.executable, "-c", code + NOT_LOADED.format(names=heavy)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-1500:]


def test_plan_and_readings_run_without_torch(tmp_path):
    """`harness plan` (with the GMACs its estimate needs already counted once) and `harness readings`
    load neither torch nor Ray nor OpenCV."""
    env = {"PATH": "", "PYTHONPATH": str(ROOT), "LOFR_HARNESS_CACHE": str(tmp_path / "cache")}
    plan = f"main(['plan', {str(ROOT / 'run_matrix.yaml')!r}, '--scale', 'smoke', '--results', {str(tmp_path)!r}])"
    warm = subprocess.run([sys.executable, "-c", f"from harness.cli import main; {plan}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert warm.returncode == 0, warm.stderr[-1500:]
    code = f"from harness.cli import main\nassert {plan} == 0\nassert main(['readings']) == 0"
    run = subprocess.run([sys.executable, "-c", code + NOT_LOADED.format(names=("torch", "ray", "cv2"))],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-1500:]
    assert "18 trials" in run.stdout and "eq2_weights" in run.stdout
