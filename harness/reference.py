"""The mean-pose reference: predict the training set's mean keypoint positions in every crop.

A model that does not beat it has not learned to localise. Written once per dataset and split as
`references/<dataset name>.json` in the matrix's results folder, with its per-image arrays
(`harness.evaluation.per_image`, the location metric's counts included) as `<dataset name>.npz`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import write_json
from harness.config import DatasetConfig
from harness.evaluation.per_image import save_per_image


# 2: scored on the evaluated images only, with PCK@0.1 (COCO / CrowdPose);
# 3: per-image arrays (with the location metric's counts) kept beside it as <name>.npz
REFERENCE_VERSION = 3


def evaluated_image_ids(val: Any) -> list[int] | None:
    """The image ids a (possibly capped) COCO / CrowdPose validation set covers; None for MPII."""
    if val.spec.name == "mpii":
        return None
    return sorted({int(i) for i in val.table.image_id})


def mean_pose_predictions(dataset: DatasetConfig, input_size: tuple[int, int],
                          max_val_instances: int | None = None) -> tuple[list[dict[str, Any]], Any]:
    """Results-format predictions of the mean pose on the validation crops, and the val set."""
    from harness.data import build_dataset, mean_pose
    from harness.data.transforms import crop_to_image
    from harness.evaluation.results import build_results

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
    return build_results(spec.name, instances, spec), val


def write_reference(dataset: DatasetConfig, input_size: tuple[int, int], path: Path,
                    max_val_instances: int | None = None) -> dict[str, Any]:
    """Evaluate the mean pose and write `path` atomically; reuse it when it is already there."""
    from harness.evaluation import evaluate

    if path.is_file() and path.with_suffix(".npz").is_file():
        try:
            cached = json.loads(path.read_text())
            # reuse only a reference computed the same way (an older format is recomputed)
            if cached.get("version") == REFERENCE_VERSION and cached.get("input_size") == list(input_size):
                return cached
        except ValueError:
            pass
    results, val = mean_pose_predictions(dataset, input_size, max_val_instances)
    ev = evaluate(val.spec.name, val.ann_path, results, head_boxes=getattr(val, "head_boxes", None),
                  image_ids=evaluated_image_ids(val))
    # "test" when the evaluation file is a test split (CrowdPose evaluates on its test set)
    split = "test" if "test" in Path(str(val.ann_path)).name.lower() else "val"
    ref = {"version": REFERENCE_VERSION, "dataset": dataset.name, "kind": dataset.kind, "split": split,
           "input_size": list(input_size), "val_instances": len(val), "metrics": ev.metrics}
    # the per-image arrays beside it: the report's intervals of every row against the mean pose
    save_per_image(path.with_suffix(".npz"), ev.per_image)
    write_json(path, ref)
    return ref
