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
  twin_val_seed: S (the twins' validation images drawn with their own seed, the training images
  unchanged), seeds: the scale's own seeds (the file's otherwise), override: partial config,
  resources: partial resources, studies: {study: all | {where: {...}}}};
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

Checks (`harness.matrix.checks`): every value in the file is checked, whichever scale is chosen;
`expand` also resolves the trials of every scale, not just the chosen one, so that a combination
that only another scale would run is an error now rather than when that scale runs.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.config import TrialConfig, loader_workers, merge
from harness.data.specs import SPECS
from harness.errors import UserError
from harness.matrix.checks import (DATASET_KEYS, PLAIN_NAME, TOP_KEYS, MatrixError, apply_extends, check_keys,
                                   check_partial_config, check_scale, check_seeds, check_study_partials, load_matrix,
                                   resources, set_dotted)
from harness.matrix.resolve import missing_paths, real_dataset, resolve_row
from harness.tables import TABLES

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

    def only(self, study: str) -> "Plan":
        """The plan of one study: its trials, each listing only this study (a trial that several
        studies share is listed under the others when they run)."""
        if study not in self.studies:
            raise UserError(f"{self.source}: --only {study}: no such study at scale {self.scale} "
                            f"(studies: {', '.join(self.studies)})")
        trials = [replace(t, studies=[study]) for t in self.trials if study in t.studies]
        return replace(self, studies={study: self.studies[study]}, trials=trials)


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
        check_keys(path, where, body, STUDY_KEYS)
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
                point = set_dotted(point, key, value)
            out.append(point)
    return out


def expand(path: str | Path, scale: str = "full", seeds: list[int] | None = None,
           data: dict[str, Any] | None = None) -> Plan:
    """Check the matrix file and expand it into deduplicated trials for `scale`.

    Raises MatrixError (one line: file, key, problem) on anything invalid, at any scale.
    """
    path = Path(path)
    data = load_matrix(path) if data is None else data
    for key in data:
        if key not in TOP_KEYS:
            raise MatrixError(path, str(key), f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    data = apply_extends(path, data)
    for key in data:
        if key not in TOP_KEYS:
            raise MatrixError(path, str(key), f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not PLAIN_NAME.match(name):
        raise MatrixError(path, "name", f"must be a plain folder name, got {name!r}")

    datasets = data.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        raise MatrixError(path, "datasets", "must be a non-empty mapping of dataset name -> dataset")
    for dname, entry in datasets.items():
        check_keys(path, f"datasets.{dname}", entry, DATASET_KEYS)
        if entry.get("kind") not in SPECS:
            raise MatrixError(path, f"datasets.{dname}.kind",
                              f"must be one of {', '.join(SPECS)}, got {entry.get('kind')!r}")
        if not isinstance(entry.get("overrides", {}), dict):
            raise MatrixError(path, f"datasets.{dname}.overrides", "must be a mapping")
        real_dataset(path, str(dname), entry)

    backbones = data.get("backbones", {})
    if not isinstance(backbones, dict):
        raise MatrixError(path, "backbones", "must be a mapping of backbone name -> {pretrained}")
    for bname, entry in backbones.items():
        check_keys(path, f"backbones.{bname}", entry if entry is not None else {}, {"pretrained"})

    defaults = data.get("defaults", {})
    check_partial_config(path, "defaults", defaults, datasets, backbones)
    for dname, entry in datasets.items():
        check_partial_config(path, f"datasets.{dname}.overrides", entry.get("overrides", {}), datasets, backbones)

    file_seeds = check_seeds(path, "seeds", data.get("seeds", [0]))
    if seeds is not None:
        check_seeds(path, "seeds", seeds)

    base_resources = resources(path, "resources", data.get("resources", {}), Resources())
    studies = _parse_studies(path, data.get("studies"))
    for sname, body in data["studies"].items():
        check_study_partials(path, str(sname), body, datasets, backbones)

    scales = data.get("scales", {"full": {}})
    if not isinstance(scales, dict):
        raise MatrixError(path, "scales", "must be a mapping of scale name -> scale")
    if scale not in scales:
        raise MatrixError(path, "scales", f"no scale named {scale!r} (defined: {', '.join(sorted(scales))})")
    checked = {str(s): check_scale(path, str(s), body, studies, datasets, backbones) for s, body in scales.items()}
    plans = {}
    for sname, (body, selected) in checked.items():
        try:
            plans[sname] = _expand_scale(path, name, sname, body, selected, studies, datasets, backbones, defaults,
                                         seeds or body.get("seeds") or file_seeds,
                                         resources(path, f"scales.{sname}.resources", body.get("resources", {}),
                                                          base_resources), with_missing=sname == scale)
        except MatrixError as exc:
            if sname == scale:
                raise
            raise UserError(f"{exc} (at scale {sname})") from None
    return plans[scale]


def _expand_scale(path: Path, name: str, scale: str, body: dict[str, Any], selected: dict[str, Any],
                  studies: dict[str, StudySpec], datasets: dict[str, Any], backbones: dict[str, Any],
                  defaults: dict[str, Any], seeds: list[int], res: Resources, with_missing: bool) -> Plan:
    """The deduplicated trials that `scale` runs."""
    synthetic = body.get("datasets", "real") == "synthetic"
    override = body.get("override", {})
    trials: dict[str, PlannedTrial] = {}
    for sname, sel in selected.items():
        study = studies[sname]
        for i, row in enumerate(_study_rows(study)):
            where = f"studies.{sname}.rows[{i}]"
            dname = merge(defaults, row).get("dataset")
            if not isinstance(dname, str) or dname not in datasets:
                raise MatrixError(path, f"{where}.dataset",
                                  f"unknown dataset {dname!r} (defined: {', '.join(sorted(datasets))})")
            ds_overrides = datasets[dname].get("overrides", {})
            # grid values were merged into `row` by _study_rows, after base.
            partial = merge(merge(merge(merge(defaults, ds_overrides), study.base), row), override)
            for seed in seeds:
                cfg = resolve_row(path, where, partial, datasets, backbones, synthetic, body, scale, seed)
                if sel != "all" and not _matches(cfg, dname, sel):
                    continue
                tid = cfg.trial_id()
                planned = trials.get(tid)
                if planned is None:
                    missing = missing_paths(cfg.dataset) if with_missing else []
                    planned = trials[tid] = PlannedTrial(tid, cfg, [], missing)
                if sname not in planned.studies:
                    planned.studies.append(sname)
    return Plan(name, scale, str(path), res, {s: studies[s] for s in selected}, list(trials.values()))


def _matches(cfg: TrialConfig, dataset_name: str, where: dict[str, Any]) -> bool:
    """A resolved trial config against a scale's checked `where` (`dataset` is the row's dataset name)."""
    flat = cfg.to_dict()
    return all((dataset_name if key == "dataset" else _get_dotted(flat, key)) == value
               for key, value in where.items())
