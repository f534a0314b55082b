"""Dataset facts live in `harness/data/specs/` only: no code elsewhere in `harness/` branches on a
dataset's kind or name (issue 22).

The sources are parsed (`ast`), not grepped as text, so comments and docstrings may name datasets.
Flagged outside `harness/data/specs/`:

- a string literal that is a dataset's kind (a key of `SPECS`, any case): in a comparison, as a
  dict key, as a subscript, as an argument -- wherever code names a dataset, it decides by it;
- a keyword argument named like a dataset (`dict(coco=...)`);
- `.kind` / `.name` of a spec or dataset (`spec.name`, `cfg.dataset.kind`, `ds.kind`, ...)
  compared with a string literal, whichever dataset the literal names;
- importing a particular dataset's spec (`from harness.data.specs import MPII`).

`ALLOWED` is the explicit list of declarations that name datasets on purpose.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import harness.data.specs as specs_module
from harness.data.specs import SPECS, KeypointSpec

HARNESS = Path(__file__).resolve().parents[1] / "harness"
SPECS_DIR = HARNESS / "data" / "specs"

# Declarations, not branches: (file relative to the repository, the source line's text that may
# name a dataset, why).
ALLOWED = (
    ("harness/tables/", "", "each paper table declares the datasets its rows and columns are for "
                           "(`match`, `columns`, `paper_for_kinds`, published rows)"),
    ("harness/config/trial_config.py", 'name: str = "coco"', "the default dataset of a bare DatasetConfig"),
    ("harness/config/trial_config.py", 'kind: str = bounded("coco"', "the default dataset of a bare DatasetConfig"),
    ("harness/gpu_check/settings.py", 'DATASET = "coco"', "the GPU check runs on the COCO sample images, one declaration"),
)
SPEC_HOLDERS = {"spec", "dataset", "ds"}  # `<...>.spec.name`, `<...>.dataset.kind`, `ds.kind`, ...


def _names() -> set[str]:
    return {k.lower() for k in SPECS}


def _spec_constants() -> set[str]:
    """The names the specs package exports for one dataset's spec (COCO, MPII, ...)."""
    return {n for n, v in vars(specs_module).items() if isinstance(v, KeypointSpec)}


def _is_spec_attribute(node: ast.AST) -> bool:
    """`x.spec.name`, `spec.kind`, `cfg.dataset.kind`, `ds.name`: a spec's or dataset's kind or name."""
    if not (isinstance(node, ast.Attribute) and node.attr in ("kind", "name")):
        return False
    base = node.value
    return (isinstance(base, ast.Name) and base.id in SPEC_HOLDERS) or \
        (isinstance(base, ast.Attribute) and base.attr in SPEC_HOLDERS)


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def branches(source: str) -> list[tuple[int, str]]:
    """(line, what) of every place in `source` that names a dataset or branches on one."""
    names, found = _names(), []
    for node in ast.walk(ast.parse(source)):
        if _is_str(node) and node.value.lower() in names:
            found.append((node.lineno, f"dataset name {node.value!r}"))
        elif isinstance(node, ast.keyword) and node.arg and node.arg.lower() in names:
            found.append((node.lineno, f"keyword {node.arg}="))
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_spec_attribute(o) for o in operands) and any(_is_str(o) for o in operands):
                found.append((node.lineno, "a spec's / dataset's kind or name compared with a literal"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("harness.data.specs"):
            for alias in node.names:
                if alias.name in _spec_constants():
                    found.append((node.lineno, f"imports the spec {alias.name}"))
    return found


def _allowed(rel: str, line: str) -> bool:
    return any(rel.startswith(path) and snippet in line for path, snippet, _ in ALLOWED)


def test_no_code_outside_the_specs_branches_on_a_dataset():
    assert SPECS_DIR.is_dir()
    problems = []
    files = sorted(p for p in HARNESS.rglob("*.py") if SPECS_DIR not in p.parents)
    assert len(files) > 100  # the whole package is read
    for path in files:
        rel = path.relative_to(HARNESS.parent).as_posix()
        lines = path.read_text().splitlines()
        for lineno, what in branches(path.read_text()):
            if not _allowed(rel, lines[lineno - 1]):
                problems.append(f"{rel}:{lineno}: {what}: {lines[lineno - 1].strip()}")
    assert not problems, "dataset facts outside harness/data/specs/:\n" + "\n".join(problems)


def test_every_allowed_declaration_is_still_there():
    """An allow-list entry that matches nothing is stale: it would silently allow a new branch."""
    for path, snippet, _ in ALLOWED:
        targets = sorted((HARNESS.parent / path).rglob("*.py")) if path.endswith("/") else [HARNESS.parent / path]
        hits = [(t, n) for t in targets for n, line in enumerate(t.read_text().splitlines(), 1)
                if snippet in line and any(lineno == n for lineno, _ in branches(t.read_text()))]
        assert hits, f"allow-list entry {path} {snippet!r} matches no dataset name"


@pytest.mark.parametrize("code", [
    'if kind == "mpii":\n    pass',
    'if spec.name == "coco":\n    pass',
    'ok = cfg.dataset.kind != "lab_people"',
    'crowd = val.spec.name == "crowdpose"',
    'if kind in ("coco", "crowdpose"):\n    pass',
    'THRESHOLD = {"coco": 0.1, "mpii": 0.5}',
    'style = STYLES["COCO"]',
    'make(dataset="mpii")',
    'table = dict(crowdpose=3)',
    'from harness.data.specs import MPII',
    'match kind:\n    case "coco":\n        pass',
])
def test_the_check_finds_each_kind_of_branch(code):
    assert branches(code), code


@pytest.mark.parametrize("code", [
    'if prim.kind == "line":\n    pass',  # a drawing primitive's kind, not a dataset's
    'if name == "responses":\n    pass',
    'spec = SPECS[kind]',
    'if x.kind == kind:\n    pass',
    'from harness.data.specs import SPECS, KeypointSpec',
    '"""Scores COCO, MPII and CrowdPose alike."""',
])
def test_the_check_leaves_generic_code_alone(code):
    assert not branches(code), code
