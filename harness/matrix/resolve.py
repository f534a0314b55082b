"""One row of a matrix resolved into a `TrialConfig`: its dataset (real, or a synthetic twin of
the scale's size), its backbone's checkpoint, the dataset's joints, the scale and the seed.

`missing_paths` lists the dataset files a resolved config needs that are not on disk (`harness
plan` shows them; `harness run` refuses to start without them).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import ConfigError, DatasetConfig, TrialConfig, from_dict
from harness.data.specs import SPECS
from harness.matrix.checks import MatrixError


def resolve_row(path: Path, where: str, partial: dict[str, Any], datasets: dict[str, Any],
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
                             synth_val_images=m, synth_seed=0, synth_val_seed=scale_body.get("twin_val_seed"))
    return real_dataset(path, name, entry)


def real_dataset(path: Path, name: str, entry: dict[str, Any]) -> DatasetConfig:
    try:
        return from_dict(DatasetConfig, {"name": name, **{k: v for k, v in entry.items() if k != "overrides"}},
                         f"datasets.{name}")
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
