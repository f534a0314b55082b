"""The matrix file's checks: reading it, `extends` / `select`, and every value it holds.

Every value is checked where it is written, whichever scale is chosen: the keys of each section,
resources, twin sizes, and every partial config -- `defaults`, each dataset's `overrides`, each
scale's `override`, each study's `base`, `rows`, `cross` and `grid` values -- for its keys, types
and ranges (`harness.config.typed.check_partial`), so that an invalid default that the chosen scale
overrides is still an error. A scale's `where` keys are checked like any other key. Checks that
relate several values (a semi row needs a fraction, d_model divisible by nhead) run on the
resolved trial configs of every scale (`harness.matrix.expand`, rows resolved by
`harness.matrix.resolve`). Every problem is a
`MatrixError`: one line naming the file, the dotted key and the problem.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from harness.config import ConfigError, TrialConfig, check_partial, field_type, merge, to_dict
from harness.data.specs import SPECS
from harness.errors import UserError
from harness.config.typed import coerce

TOP_KEYS = {"name", "datasets", "backbones", "defaults", "seeds", "resources", "scales", "studies",
            "extends", "select"}
DATASET_KEYS = {"kind", "root", "train_ann", "val_ann", "train_images", "val_images",
                "detections", "head_boxes", "overrides"}
RESOURCE_KEYS = {"gpus_per_trial", "cpus_per_trial", "max_failures", "max_concurrent"}
SCALE_KEYS = {"datasets", "twin_images", "twin_val_images", "twin_val_seed", "seeds", "override", "resources",
              "studies"}
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a folder name: results/<matrix>/<scale>/


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


def apply_extends(path: Path, data: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """Resolve ``extends`` (parent file first, this file's keys on top) and ``select``."""
    if "extends" in data:
        parent_ref = data["extends"]
        if not isinstance(parent_ref, str):
            raise MatrixError(path, "extends", "must be the path of another matrix file")
        if depth > 4:
            raise MatrixError(path, "extends", "too deeply nested (a cycle?)")
        parent_path = (path.parent / parent_ref).resolve()
        parent = apply_extends(parent_path, load_matrix(parent_path), depth + 1)
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


def check_keys(path: Path, where: str, data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MatrixError(path, where, f"must be a mapping, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise MatrixError(path, f"{where}.{key}" if where else str(key),
                              f"unknown key (known: {', '.join(sorted(allowed))})")
    return data


def number(path: Path, key: str, value: Any, *, integer: bool = False, minimum: float = 0) -> Any:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        kind = "an integer" if integer else "a number"
        raise MatrixError(path, key, f"must be {kind}, got {value!r}")
    if value < minimum:
        raise MatrixError(path, key, f"must be >= {minimum}, got {value}")
    return value


def resources(path: Path, where: str, data: dict[str, Any], base: Any) -> Any:
    """`base` (a `Resources`) with the checked values of `data` on top."""
    check_keys(path, where, data, RESOURCE_KEYS)
    out = type(base)(**vars(base))
    for key, value in data.items():
        integer = key in ("max_failures", "max_concurrent")
        setattr(out, key, number(path, f"{where}.{key}", value, integer=integer))
    if out.gpus_per_trial > 1 and out.gpus_per_trial != int(out.gpus_per_trial):
        raise MatrixError(path, f"{where}.gpus_per_trial",
                          f"a trial can take a fraction of one GPU or whole GPUs, not {out.gpus_per_trial}")
    if out.cpus_per_trial <= 0:
        raise MatrixError(path, f"{where}.cpus_per_trial", "must be > 0")
    return out


def set_dotted(row: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return merge(row, out)


def _dataset_name(path: Path, key: str, name: Any, datasets: dict[str, Any]) -> None:
    if not isinstance(name, str) or name not in datasets:
        raise MatrixError(path, key, f"unknown dataset {name!r} (defined: {', '.join(sorted(datasets))})")


def _backbone_name(path: Path, key: str, name: Any, backbones: dict[str, Any]) -> None:
    if backbones and isinstance(name, str) and name not in backbones:
        raise MatrixError(path, key, f"unknown backbone {name!r} (defined: {', '.join(sorted(backbones))})")


def check_partial_config(path: Path, where: str, partial: Any, datasets: dict[str, Any],
                         backbones: dict[str, Any]) -> None:
    """A partial trial config of the matrix: `dataset` is a dataset's name, `model.backbone` a
    backbone's; `seed` and `scale` are the matrix's to set; the rest as `TrialConfig`'s fields."""
    if not isinstance(partial, dict):
        raise MatrixError(path, where, f"must be a mapping, got {type(partial).__name__}")
    rest = dict(partial)
    for key in ("seed", "scale"):
        if key in rest:
            raise MatrixError(path, f"{where}.{key}",
                              f"is set by the matrix's {'seeds' if key == 'seed' else '--scale'}, not by a row")
    if "dataset" in rest:
        _dataset_name(path, f"{where}.dataset", rest.pop("dataset"), datasets)
    model = rest.get("model")
    if isinstance(model, dict) and "backbone" in model:
        _backbone_name(path, f"{where}.model.backbone", model["backbone"], backbones)
    try:
        check_partial(TrialConfig, rest, where)
    except ConfigError as exc:
        raise MatrixError(path, exc.key, exc.problem) from None


def check_where(path: Path, key: str, where: Any, datasets: dict[str, Any], backbones: dict[str, Any]) -> dict:
    """A scale's `{where: {dotted key: value}}`: every key a config key, every value of its type.

    Returns the values as the resolved config holds them (`to_dict` of the coerced value)."""
    if not isinstance(where, dict) or not where:
        raise MatrixError(path, key, "must be a non-empty mapping of dotted config key -> value")
    out = {}
    for dotted, value in where.items():
        wkey = f"{key}.{dotted}"
        if dotted == "dataset":
            _dataset_name(path, wkey, value, datasets)
            out[dotted] = value
            continue
        tp = field_type(TrialConfig, str(dotted)) if not str(dotted).startswith("dataset.") else None
        if tp is None or dotted in ("scale",):
            raise MatrixError(path, wkey, "unknown key: not a key of the trial config (e.g. model.backbone, "
                                          "supervision.fraction, dataset)")
        if dotted == "model.backbone":
            _backbone_name(path, wkey, value, backbones)
        try:
            out[dotted] = to_dict(coerce(tp, value, wkey))
        except ConfigError as exc:
            raise MatrixError(path, exc.key, exc.problem) from None
    return out


def check_study_partials(path: Path, name: str, body: dict[str, Any], datasets: dict[str, Any],
                         backbones: dict[str, Any]) -> None:
    """A study's `base`, each of its `rows` and `cross` entries and each `grid` value, on their own."""
    where = f"studies.{name}"
    if isinstance(body.get("base"), dict):
        check_partial_config(path, f"{where}.base", body["base"], datasets, backbones)
    for section in ("rows", "cross"):
        for i, partial in enumerate(body.get(section) or []):
            check_partial_config(path, f"{where}.{section}[{i}]", partial, datasets, backbones)
    for dotted, values in (body.get("grid") or {}).items():
        for i, value in enumerate(values if isinstance(values, list) else []):
            point = set_dotted({}, str(dotted), value)
            try:
                check_partial_config(path, f"{where}.grid", point, datasets, backbones)
            except MatrixError as exc:
                raise UserError(f"{exc} (value {i} of grid key {dotted})") from None


def check_seeds(path: Path, key: str, seeds: Any) -> list[int]:
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise MatrixError(path, key, f"must be a non-empty list of non-negative integers, got {seeds!r}")
    return seeds


def check_scale(path: Path, sname: str, body: Any, studies: dict[str, Any], datasets: dict[str, Any],
                 backbones: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A scale's own values; returns (its body, {study: "all" | checked where values})."""
    where = f"scales.{sname}"
    if not PLAIN_NAME.match(sname):
        raise MatrixError(path, where, "a scale's name must be a plain folder name (results/<matrix>/<scale>/)")
    body = check_keys(path, where, body if body is not None else {}, SCALE_KEYS)
    mode = body.get("datasets", "real")
    if mode not in ("real", "synthetic"):
        raise MatrixError(path, f"{where}.datasets", f"must be 'real' or 'synthetic', got {mode!r}")
    for key in ("twin_images", "twin_val_images"):
        for kind, n in check_keys(path, f"{where}.{key}", body.get(key) or {}, set(SPECS) | {"default"}).items():
            number(path, f"{where}.{key}.{kind}", n, integer=True, minimum=1)
    if "twin_val_seed" in body:
        number(path, f"{where}.twin_val_seed", body["twin_val_seed"], integer=True, minimum=0)
    if "seeds" in body:
        check_seeds(path, f"{where}.seeds", body["seeds"])
    check_partial_config(path, f"{where}.override", body.get("override", {}), datasets, backbones)
    selected = body.get("studies", "all")
    if selected == "all":
        selected = {s: "all" for s in studies}
    if not isinstance(selected, dict):
        raise MatrixError(path, f"{where}.studies", "must be 'all' or a mapping study -> all | {where}")
    out = {}
    for study, sel in selected.items():
        key = f"{where}.studies.{study}"
        if study not in studies:
            raise MatrixError(path, key, "no such study")
        if sel != "all" and not (isinstance(sel, dict) and set(sel) == {"where"}):
            raise MatrixError(path, key, "must be 'all' or {where: {dotted key: value}}")
        out[study] = "all" if sel == "all" else check_where(path, f"{key}.where", sel["where"], datasets, backbones)
    return body, out
