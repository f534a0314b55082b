"""The mean-pose reference: predict the training set's mean keypoint positions in every crop.

A model that does not beat it has not learned to localise. Written once per run folder
(`harness/layout.py`) and per everything that shapes it, as `references/<name>.json` with
`<name> = reference_name(config)`: the dataset's name and a hash of its whole config (a twin's
parameters, a real dataset's files), the input size, the validation cap and the reference's
version. Trials that differ only in their model or schedule share one; index.json names each
trial's. Its per-image arrays (`harness.evaluation.per_image`, the location metric's counts
included) lie beside it as `<name>.npz`.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import write_json
from harness.config import DatasetConfig, TrialConfig, to_dict
from harness.data.build import build_dataset
from harness.data.mean_pose import mean_pose
from harness.data.transforms import crop_to_image
from harness.evaluation.evaluator import evaluate, location_metrics
from harness.evaluation.per_image import save_per_image
from harness.evaluation.results import build_results
from harness.config.identity import stable


# 2: scored on the evaluated images only, with PCK@0.1 (COCO / CrowdPose);
# 3: per-image arrays (with the location metric's counts) kept beside it as <name>.npz;
# 4: named by what shapes it (`reference_name`); MPII records its head size source
REFERENCE_VERSION = 4


def reference_name(cfg: TrialConfig) -> str:
    """The file stem of the mean-pose reference that `cfg`'s trial is compared with."""
    dataset = stable(to_dict(cfg.dataset), to_dict(DatasetConfig()), "dataset")  # new fields at default: same name
    shape = {"version": REFERENCE_VERSION, "dataset": dataset, "input_size": list(cfg.model.input_size),
             "max_val_instances": cfg.schedule.max_val_instances}
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:10]
    return f"{cfg.dataset.name}-{digest}"


def evaluated_image_ids(val: Any) -> list[int] | None:
    """The image ids a (possibly capped) validation set covers, where its metric family scores by
    image ids (OKS AP: COCO, CrowdPose); None where it scores the predictions themselves (PCKh)."""
    if not val.spec.evaluator.by_image_ids:
        return None
    return sorted({int(i) for i in val.table.image_id})


def mean_pose_predictions(dataset: DatasetConfig, input_size: tuple[int, int],
                          max_val_instances: int | None = None) -> tuple[list[dict[str, Any]], Any]:
    """Results-format predictions of the mean pose on the validation crops, and the val set."""
    pose = mean_pose(dataset, input_size)  # K x 2 crop px, NaN where a joint is never visible
    val = build_dataset(dataset, "val", input_size, augment=False, seed=0, max_instances=max_val_instances)
    spec = val.spec
    # A joint never seen in training is put at the crop centre with score 0.
    centre = np.array([input_size[1] / 2.0, input_size[0] / 2.0])
    seen = ~np.isnan(pose).any(axis=1)
    pose = np.where(seen[:, None], pose, centre)
    scores = seen.astype(np.float64)
    instances = []
    for i in range(len(val)):
        meta = val.instance_meta(i) if hasattr(val, "instance_meta") else val[i]["meta"]
        center, scale = np.asarray(meta["center"], float), np.asarray(meta["scale"], float)
        xy = crop_to_image(pose, center, scale, input_size)
        instances.append({"image_id": int(meta["image_id"]), "index": int(meta["index"]),
                          "keypoints": np.concatenate([xy, scores[:, None]], axis=1),
                          "box_score": float(meta["score"]), "area": float(meta["area"]),
                          "center": center, "scale": scale})
    return build_results(instances, spec), val


def write_reference(dataset: DatasetConfig, input_size: tuple[int, int], path: Path,
                    max_val_instances: int | None = None, location_only: bool = False) -> dict[str, Any]:
    """Evaluate the mean pose and write `path` atomically; reuse it when it is already there (its
    name holds everything that shapes it: `reference_name`). `location_only`: the location metric
    alone, without the OKS AP (a bare machine without pycocotools: scripts/gpu_seeds.py); such a
    reference says so (`location_only`) and is computed again where the full one is asked for."""
    if path.is_file() and path.with_suffix(".npz").is_file():
        try:
            cached = json.loads(path.read_text())
            # reuse only a reference computed the same way (an older format is recomputed)
            if cached.get("version") == REFERENCE_VERSION and cached.get("input_size") == list(input_size) \
                    and cached.get("max_val_instances") == max_val_instances \
                    and (location_only or not cached.get("location_only", False)):
                return cached
        except ValueError:
            pass
    results, val = mean_pose_predictions(dataset, input_size, max_val_instances)
    score = location_metrics if location_only else evaluate
    ev = score(val.spec.name, val.ann_path, results, head_boxes=getattr(val, "head_boxes", None),
               image_ids=evaluated_image_ids(val))
    # "test" when the evaluation file is a test split (CrowdPose evaluates on its test set)
    split = "test" if "test" in Path(str(val.ann_path)).name.lower() else "val"
    ref = {"version": REFERENCE_VERSION, "dataset": dataset.name, "kind": dataset.kind, "split": split,
           "input_size": list(input_size), "max_val_instances": max_val_instances, "val_instances": len(val),
           "evaluation": ev.details, "metrics": ev.metrics, "location_only": location_only}
    # the per-image arrays beside it: the report's intervals of every row against the mean pose
    save_per_image(path.with_suffix(".npz"), ev.per_image)
    write_json(path, ref)
    return ref
