"""The matrix file: validation and pure expansion into deduplicated trials.

A matrix file (see `run_matrix.yaml`) has these top-level keys:

- ``name``: the results folder name (default: the file's stem);
- ``datasets``: name -> {kind, root, train_ann, val_ann, train_images, val_images, detections,
  head_boxes, overrides}; ``overrides`` is a partial trial config applied to every row on that
  dataset (e.g. MPII's 256x256 input and 160 epochs);
- ``backbones``: name -> {pretrained: local checkpoint path or null};
- ``defaults``: a partial trial config applied to every row;
- ``seeds``: list of ints (default ``[0]``);
- ``resources``: {gpus_per_trial, cpus_per_trial, max_failures, max_concurrent};
- ``scales``: name -> {datasets: real | synthetic, twin_images: {kind: N}, twin_val_images: {kind: M},
  override: partial config, resources: partial resources, studies: {study: all | {where: {...}}}};
- ``studies``: name -> {table, title, base, rows, cross, grid}: ``table`` is a declared paper
  table (`harness.tables.TABLES`; default: the study's name), ``title`` defaults to the table's
  description; ``rows`` is a list of partial
  configs; ``cross`` is a list of partial configs crossed with the rows (for combinations that are
  not a full grid, e.g. Table 4's COCO R50, COCO HR32, MPII R50); ``grid`` maps dotted keys to
  value lists (cross product). Rows x cross x grid.

- ``extends``: another matrix file (relative to this one) whose keys this file starts from (its
  own keys replace the parent's); ``select``: a list of the studies to keep. The files in
  ``ablations/`` are such one-table views of ``run_matrix.yaml``.

A row (like every partial config here) uses the trial config's keys (`harness.config.TrialConfig`)
except that ``dataset`` is the *name* of a dataset entry and ``model.backbone`` is a name from
``backbones``. Resolution order: defaults, dataset overrides, study base, row, grid point, scale
override, seed. Expansion is pure: no file other than the matrix is read, nothing is written.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.config import ConfigError, DatasetConfig, TrialConfig, loader_workers, merge
from harness.data.specs import SPECS
from harness.errors import UserError
from harness.tables import TABLES

TOP_KEYS = {"name", "datasets", "backbones", "defaults", "seeds", "resources", "scales", "studies",
            "extends", "select"}
DATASET_KEYS = {"kind", "root", "train_ann", "val_ann", "train_images", "val_images",
                "detections", "head_boxes", "overrides"}
RESOURCE_KEYS = {"gpus_per_trial", "cpus_per_trial", "max_failures", "max_concurrent"}
SCALE_KEYS = {"datasets", "twin_images", "twin_val_images", "override", "resources", "studies"}
STUDY_KEYS = {"table", "title", "base", "rows", "cross", "grid"}


@dataclass
class Resources:
    gpus_per_trial: float = 1.0
    cpus_per_trial: float = 4.0
    max_failures: int = 2
    max_concurrent: int = 0  # 0 = as many as the resources allow

    @property
    def ranks(self) -> int:
        """Data-parallel ranks of a trial: one per GPU when it takes several, else one."""
        return int(self.gpus_per_trial) if self.gpus_per_trial > 1 else 1


@dataclass
class StudySpec:
    name: str
    table: str
    title: str
    base: dict[str, Any]
    rows: list[dict[str, Any]]
    cross: list[dict[str, Any]]
    grid: dict[str, list[Any]]


@dataclass
class PlannedTrial:
    """One deduplicated trial of an expanded matrix."""

    id: str
    config: TrialConfig
    studies: list[str] = field(default_factory=list)
    missing_data: list[str] = field(default_factory=list)

    def to_json(self, resources: Resources) -> dict[str, Any]:
        """`harness plan --json`'s object: the config as the trial will run it (loader workers
        resolved from the resources, `harness.config.loader_workers`)."""
        config = self.config.to_dict()
        config["schedule"]["num_workers"] = loader_workers(self.config.schedule.num_workers,
                                                           resources.cpus_per_trial, resources.ranks)
        return {
            "id": self.id,
            "studies": self.studies,
            "config": config,
            "resources": {"gpus": resources.gpus_per_trial, "cpus": resources.cpus_per_trial},
            "missing_data": self.missing_data,
        }


@dataclass
class Plan:
    name: str
    scale: str
    source: str
    resources: Resources
    studies: dict[str, StudySpec]
    trials: list[PlannedTrial]

    def study_trials(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {s: [] for s in self.studies}
        for t in self.trials:
            for s in t.studies:
                out[s].append(t.id)
        return out


class MatrixError(UserError):
    """A problem in a matrix file: one line naming the file, the key and the problem."""

    def __init__(self, path: str | Path, key: str, problem: str):
        super().__init__(f"{path}: {key}: {problem}" if key else f"{path}: {problem}")


def load_matrix(path: str | Path) -> dict[str, Any]:
    """Read a matrix file with `yaml.safe_load`; a missing or unparsable file is a MatrixError."""
    path = Path(path)
    if not path.is_file():
        raise MatrixError(path, "", "matrix file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MatrixError(path, "", f"{where}not valid YAML ({problem})") from None
    except UnicodeDecodeError:
        raise MatrixError(path, "", "not a text file") from None
    if not isinstance(data, dict):
        raise MatrixError(path, "", f"must be a mapping at the top level, got {type(data).__name__}")
    return data


def _apply_extends(path: Path, data: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """Resolve ``extends`` (parent file first, this file's keys on top) and ``select``."""
    if "extends" in data:
        parent_ref = data["extends"]
        if not isinstance(parent_ref, str):
            raise MatrixError(path, "extends", "must be the path of another matrix file")
        if depth > 4:
            raise MatrixError(path, "extends", "too deeply nested (a cycle?)")
        parent_path = (path.parent / parent_ref).resolve()
        parent = _apply_extends(parent_path, load_matrix(parent_path), depth + 1)
        data = {**parent, **{k: v for k, v in data.items() if k != "extends"}}
    if "select" in data:
        select = data.pop("select")
        studies = data.get("studies")
        if not isinstance(select, list) or not select or not all(isinstance(s, str) for s in select):
            raise MatrixError(path, "select", "must be a non-empty list of study names")
        if not isinstance(studies, dict):
            raise MatrixError(path, "studies", "must be a mapping of study name -> study")
        for name in select:
            if name not in studies:
                raise MatrixError(path, "select", f"no study named {name!r} (defined: {', '.join(studies)})")
        data["studies"] = {k: v for k, v in studies.items() if k in select}
        for sname, body in (data.get("scales") or {}).items():
            if isinstance(body, dict) and isinstance(body.get("studies"), dict):
                data["scales"] = {**data["scales"], sname: {
                    **body, "studies": {k: v for k, v in body["studies"].items() if k in select}}}
    return data


def _check_keys(path: Path, where: str, data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MatrixError(path, where, f"must be a mapping, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise MatrixError(path, f"{where}.{key}" if where else str(key),
                              f"unknown key (known: {', '.join(sorted(allowed))})")
    return data


def _number(path: Path, key: str, value: Any, *, integer: bool = False, minimum: float = 0) -> Any:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        kind = "an integer" if integer else "a number"
        raise MatrixError(path, key, f"must be {kind}, got {value!r}")
    if value < minimum:
        raise MatrixError(path, key, f"must be >= {minimum}, got {value}")
    return value


def _resources(path: Path, where: str, data: dict[str, Any], base: Resources) -> Resources:
    _check_keys(path, where, data, RESOURCE_KEYS)
    out = Resources(**vars(base))
    for key, value in data.items():
        integer = key in ("max_failures", "max_concurrent")
        setattr(out, key, _number(path, f"{where}.{key}", value, integer=integer))
    if out.gpus_per_trial > 1 and out.gpus_per_trial != int(out.gpus_per_trial):
        raise MatrixError(path, f"{where}.gpus_per_trial",
                          f"a trial can take a fraction of one GPU or whole GPUs, not {out.gpus_per_trial}")
    if out.cpus_per_trial <= 0:
        raise MatrixError(path, f"{where}.cpus_per_trial", "must be > 0")
    return out


def _set_dotted(row: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return merge(row, out)


def _get_dotted(cfg: dict[str, Any], dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _parse_studies(path: Path, data: Any) -> dict[str, StudySpec]:
    if not isinstance(data, dict) or not data:
        raise MatrixError(path, "studies", "must be a non-empty mapping of study name -> study")
    studies = {}
    for name, body in data.items():
        where = f"studies.{name}"
        _check_keys(path, where, body, STUDY_KEYS)
        table = body.get("table", name)
        if not isinstance(table, str) or table not in TABLES:
            raise MatrixError(path, f"{where}.table", f"must be one of {', '.join(TABLES)}, got {table!r}")
        rows = body.get("rows", [{}])
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise MatrixError(path, f"{where}.rows", "must be a non-empty list of mappings")
        grid = body.get("grid", {})
        if not isinstance(grid, dict):
            raise MatrixError(path, f"{where}.grid", "must be a mapping of dotted key -> list of values")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise MatrixError(path, f"{where}.grid.{key}", "must be a non-empty list of values")
        cross = body.get("cross", [{}])
        if not isinstance(cross, list) or not cross or not all(isinstance(r, dict) for r in cross):
            raise MatrixError(path, f"{where}.cross", "must be a non-empty list of mappings")
        base = body.get("base", {})
        if not isinstance(base, dict):
            raise MatrixError(path, f"{where}.base", "must be a mapping")
        title = body.get("title", TABLES[table].description)
        if not isinstance(title, str):
            raise MatrixError(path, f"{where}.title", "must be a string")
        studies[name] = StudySpec(str(name), table, title, base, rows, cross, grid)
    return studies


def _study_rows(study: StudySpec) -> list[dict[str, Any]]:
    keys = list(study.grid)
    out = []
    for row, extra in itertools.product(study.rows, study.cross):
        for values in itertools.product(*(study.grid[k] for k in keys)):
            point = merge(merge(study.base, row), extra)
            for key, value in zip(keys, values):
                point = _set_dotted(point, key, value)
            out.append(point)
    return out


def _resolve_dataset(path: Path, where: str, name: Any, datasets: dict[str, Any], synthetic: bool,
                     scale_body: dict[str, Any], seed: int) -> DatasetConfig:
    if not isinstance(name, str) or name not in datasets:
        raise MatrixError(path, f"{where}.dataset",
                          f"unknown dataset {name!r} (defined: {', '.join(sorted(datasets))})")
    entry = {k: v for k, v in datasets[name].items() if k != "overrides"}
    kind = entry.get("kind")
    if synthetic:
        twin = scale_body.get("twin_images", {})
        twin_val = scale_body.get("twin_val_images", {})
        n = twin.get(kind, twin.get("default", 256))
        m = twin_val.get(kind, twin_val.get("default", max(4, n // 4)))
        # The twin's paths are filled in by the runner once it has generated (or found) the twin.
        return DatasetConfig(name=f"{name}_synth", kind=kind, synthetic=True, synth_images=n,
                             synth_val_images=m, synth_seed=0)
    try:
        from harness.config import from_dict
        return from_dict(DatasetConfig, {"name": name, **entry}, f"datasets.{name}")
    except ConfigError as exc:
        raise MatrixError(path, exc.key, exc.problem) from None


def missing_paths(ds: DatasetConfig) -> list[str]:
    """The dataset paths (root, annotation files, image folders) that are not on disk."""
    if ds.synthetic:
        return []
    root = Path(ds.root)
    missing = []
    for key in ("train_ann", "val_ann", "train_images", "val_images", "detections", "head_boxes"):
        rel = getattr(ds, key)
        if not rel:
            continue
        p = Path(rel) if Path(rel).is_absolute() else root / rel
        if not p.exists():
            missing.append(str(p))
    if not root.exists():
        missing.insert(0, str(root))
    return missing


def expand(path: str | Path, scale: str = "full", seeds: list[int] | None = None,
           data: dict[str, Any] | None = None) -> Plan:
    """Validate the matrix file and expand it into deduplicated trials for `scale`.

    Raises MatrixError (one line: file, key, problem) on anything invalid.
    """
    path = Path(path)
    data = load_matrix(path) if data is None else data
    for key in data:
        if key not in TOP_KEYS:
            raise MatrixError(path, str(key), f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    data = _apply_extends(path, data)
    for key in data:
        if key not in TOP_KEYS:
            raise MatrixError(path, str(key), f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise MatrixError(path, "name", f"must be a plain folder name, got {name!r}")

    datasets = data.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        raise MatrixError(path, "datasets", "must be a non-empty mapping of dataset name -> dataset")
    for dname, entry in datasets.items():
        _check_keys(path, f"datasets.{dname}", entry, DATASET_KEYS)
        if entry.get("kind") not in SPECS:
            raise MatrixError(path, f"datasets.{dname}.kind",
                              f"must be one of {', '.join(SPECS)}, got {entry.get('kind')!r}")
        if not isinstance(entry.get("overrides", {}), dict):
            raise MatrixError(path, f"datasets.{dname}.overrides", "must be a mapping")

    backbones = data.get("backbones", {})
    if not isinstance(backbones, dict):
        raise MatrixError(path, "backbones", "must be a mapping of backbone name -> {pretrained}")
    for bname, entry in backbones.items():
        _check_keys(path, f"backbones.{bname}", entry if entry is not None else {}, {"pretrained"})

    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise MatrixError(path, "defaults", "must be a mapping")

    if seeds is None:
        seeds = data.get("seeds", [0])
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise MatrixError(path, "seeds", f"must be a non-empty list of non-negative integers, got {seeds!r}")

    resources = _resources(path, "resources", data.get("resources", {}), Resources())

    scales = data.get("scales", {"full": {}})
    if not isinstance(scales, dict):
        raise MatrixError(path, "scales", "must be a mapping of scale name -> scale")
    if scale not in scales:
        raise MatrixError(path, "scales", f"no scale named {scale!r} (defined: {', '.join(sorted(scales))})")
    for sname, body in scales.items():
        _check_keys(path, f"scales.{sname}", body if body is not None else {}, SCALE_KEYS)
    scale_body = scales[scale] or {}
    mode = scale_body.get("datasets", "real")
    if mode not in ("real", "synthetic"):
        raise MatrixError(path, f"scales.{scale}.datasets", f"must be 'real' or 'synthetic', got {mode!r}")
    for key in ("twin_images", "twin_val_images"):
        for kind, n in (scale_body.get(key) or {}).items():
            _number(path, f"scales.{scale}.{key}.{kind}", n, integer=True, minimum=1)
    override = scale_body.get("override", {})
    if not isinstance(override, dict):
        raise MatrixError(path, f"scales.{scale}.override", "must be a mapping")
    resources = _resources(path, f"scales.{scale}.resources", scale_body.get("resources", {}), resources)

    studies = _parse_studies(path, data.get("studies"))
    selected = scale_body.get("studies", "all")
    if selected == "all":
        selected = {s: "all" for s in studies}
    if not isinstance(selected, dict):
        raise MatrixError(path, f"scales.{scale}.studies", "must be 'all' or a mapping study -> all | {where}")
    for sname, sel in selected.items():
        if sname not in studies:
            raise MatrixError(path, f"scales.{scale}.studies.{sname}", "no such study")
        if sel != "all" and not (isinstance(sel, dict) and set(sel) == {"where"} and isinstance(sel["where"], dict)):
            raise MatrixError(path, f"scales.{scale}.studies.{sname}", "must be 'all' or {where: {dotted key: value}}")

    trials: dict[str, PlannedTrial] = {}
    for sname, sel in selected.items():
        study = studies[sname]
        for i, row in enumerate(_study_rows(study)):
            where = f"studies.{sname}.rows[{i}]"
            partial = merge(defaults, row)
            dname = partial.get("dataset")
            if not isinstance(dname, str) or dname not in datasets:
                raise MatrixError(path, f"{where}.dataset",
                                  f"unknown dataset {dname!r} (defined: {', '.join(sorted(datasets))})")
            ds_overrides = datasets[dname].get("overrides", {})
            partial = merge(merge(merge(defaults, ds_overrides), study.base), row)
            # grid values were merged into `row` by _study_rows, after base.
            partial = merge(partial, override)
            if sel != "all" and any(_get_dotted(partial, k) != v for k, v in sel["where"].items()):
                continue
            for seed in seeds:
                cfg = _resolve_row(path, where, partial, datasets, backbones, mode == "synthetic",
                                   scale_body, scale, seed)
                tid = cfg.trial_id()
                planned = trials.get(tid)
                if planned is None:
                    planned = trials[tid] = PlannedTrial(tid, cfg, [], missing_paths(cfg.dataset))
                if sname not in planned.studies:
                    planned.studies.append(sname)
    chosen = {s: studies[s] for s in selected}
    return Plan(name, scale, str(path), resources, chosen, list(trials.values()))


def _resolve_row(path: Path, where: str, partial: dict[str, Any], datasets: dict[str, Any],
                 backbones: dict[str, Any], synthetic: bool, scale_body: dict[str, Any], scale: str,
                 seed: int) -> TrialConfig:
    partial = dict(partial)
    for key in ("seed", "scale"):
        if key in partial:
            raise MatrixError(path, f"{where}.{key}",
                              f"is set by the matrix's {'seeds' if key == 'seed' else '--scale'}, not by a row")
    ds = _resolve_dataset(path, where, partial.pop("dataset"), datasets, synthetic, scale_body, seed)
    model = dict(partial.pop("model", {}) or {})
    if not isinstance(model, dict):
        raise MatrixError(path, f"{where}.model", "must be a mapping")
    spec = SPECS[ds.kind]
    model["num_keypoints"] = spec.num_joints  # derived from the dataset, never set by hand
    model["skeleton"] = [list(e) for e in spec.skeleton]
    bname = model.get("backbone", "resnet50")
    if backbones and bname not in backbones:
        raise MatrixError(path, f"{where}.model.backbone",
                          f"unknown backbone {bname!r} (defined: {', '.join(sorted(backbones))})")
    if not synthetic and "pretrained" not in model:
        model["pretrained"] = (backbones.get(bname) or {}).get("pretrained")
    body = {**partial, "model": model, "scale": scale, "seed": seed}
    try:
        cfg = TrialConfig.from_dict(body, "")
    except ConfigError as exc:
        raise MatrixError(path, f"{where}.{exc.key}" if exc.key else where, exc.problem) from None
    cfg.dataset = ds
    return cfg
