"""The results folder's layout: one run folder per matrix and scale, and its merged index.json.

```
<results>/                      # what `harness run --results` and `harness report --results` take
  .twins/                       # synthetic twins, one folder per parameter set (any matrix, any scale)
  <matrix>/<scale>/             # one run folder: a matrix at one scale
    index.json                  # which trials belong to which study, merged over partial runs
    references/<name>.json      # mean-pose references, named by what shapes them (harness/reference.py)
    <trial id>/                 # one trial's files (docs/architecture.md)
```

Scales never share a folder, so nothing of one scale is ever read as another's. `index.json` is
merged, not overwritten: a run with `--only`, added seeds or a grown matrix adds its studies and
trials to what earlier runs of the same matrix and scale recorded (a lock serialises runs that
merge at once).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.atomic import locked, write_json
from harness.errors import UserError
from harness.matrix import Plan

INDEX = "index.json"


def run_dir(results_root: Path, matrix: str, scale: str) -> Path:
    """The run folder of `matrix` at `scale` under a results root."""
    return Path(results_root) / matrix / scale


def twin_cache_dir(results_root: Path) -> Path:
    return (Path(results_root) / ".twins").resolve()


def _read_index(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot be read to merge this run into it ({exc}); move it away") from None
    if not isinstance(index, dict) or not isinstance(index.get("studies", {}), dict) \
            or not isinstance(index.get("trials", {}), dict):
        raise UserError(f"{path}: not an index.json (studies and trials mappings); move it away")
    return index


def merge_index(plan: Plan, folder: Path, references: dict[str, str], study_order: list[str]) -> dict[str, Any]:
    """Merge this run's studies and trials into `folder`/index.json and return the result.

    A study's trial list is this run's list followed by the trials earlier runs listed that this
    run does not (other seeds, rows since removed); a trial's studies are the union. Studies keep
    the matrix's order (`study_order`), then any the matrix no longer has. `references` maps a
    trial id to its mean-pose reference's name.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / INDEX
    with locked(folder / f".{INDEX}.lock"):
        old = _read_index(path)
        studies: dict[str, Any] = dict(old.get("studies", {}))
        trials: dict[str, Any] = dict(old.get("trials", {}))
        run_lists: dict[str, list[str]] = {name: [] for name in plan.studies}
        for t in plan.trials:
            before = trials.get(t.id, {}).get("studies", [])
            entry = {"studies": before + [s for s in t.studies if s not in before], "config": t.config.to_dict()}
            if t.id in references:
                entry["reference"] = references[t.id]
            trials[t.id] = entry
            for s in t.studies:
                run_lists[s].append(t.id)
        for name, spec in plan.studies.items():
            earlier = studies.get(name, {}).get("trials", [])
            ids = run_lists[name] + [tid for tid in earlier if tid not in run_lists[name]]
            studies[name] = {"table": spec.table, "title": spec.title, "trials": ids}
        order = [s for s in study_order if s in studies] + [s for s in studies if s not in study_order]
        index = {"matrix": plan.name, "scale": plan.scale, "source": plan.source,
                 "studies": {s: studies[s] for s in order}, "trials": trials}
        write_json(path, index)
    return index


def find_run_dirs(root: Path) -> list[Path]:
    """The run folders (holding an index.json) at `root`, or one or two levels below it."""
    root = Path(root)
    if (root / INDEX).is_file():
        return [root]
    return sorted({p.parent for pattern in (f"*/{INDEX}", f"*/*/{INDEX}") for p in root.glob(pattern)})


def pick_run_dir(root: Path) -> Path:
    """The single run folder under `root` (the root `harness run --results` took, a matrix's
    folder, or a run folder itself); none or several is a one-line UserError."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: results folder not found")
    found = find_run_dirs(root)
    if not found:
        raise UserError(f"{root}: no run folder (<matrix>/<scale>/ with an index.json) under it; "
                        "run 'harness run' first, or pass --results")
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(root)) for p in found)
        raise UserError(f"{root}: holds {len(found)} run folders ({names}); pass one of them as --results")
    return found[0]
