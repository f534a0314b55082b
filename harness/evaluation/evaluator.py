"""`evaluate`: one entry point that scores a predictions set on a dataset's ground truth.

`kind` selects the evaluator (COCO AP, CrowdPose AP, MPII PCKh; COCO and CrowdPose also get
the box-normalised `PCK@0.1` of `pck_box`); predictions are the standard
results format of that dataset (a list, or the path of a JSON file holding it) and are scored
exactly as given -- no rescoring, no NMS (that happens in `results.build_results`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.mpii_mat import MpiiGroundTruth, load_mpii_mat
from harness.data.specs import SPECS
from harness.errors import UserError
from harness.evaluation import files
from harness.evaluation.coco import evaluate_coco, evaluate_crowdpose
from harness.evaluation.pck_box import box_pck
from harness.evaluation.pckh import evaluate_mpii

PCK_NAME = "PCK@0.1"  # COCO / CrowdPose: box-normalised PCK (harness/evaluation/pck_box.py)


@dataclass
class EvalResult:
    """Metrics by name (fractions in [0, 1], None where undefined), per-image arrays, and how the
    metrics were computed where a dataset allows several ways (`details`, written to metrics.json
    as "evaluation"): MPII's `head_size_source` is "mat" (standard PCKh) or "joints"."""

    metrics: dict[str, float | None]
    per_image: dict[str, np.ndarray] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)


def _predictions(predictions: list | str | Path) -> tuple[Any, str]:
    if isinstance(predictions, (str, Path)):
        return files.read_json(predictions, "predictions"), str(predictions)
    return predictions, "<predictions>"


def evaluate(kind: str, ann_path: str | Path, predictions: list | str | Path, *,
             head_boxes: MpiiGroundTruth | str | Path | None = None,
             image_ids: list[int] | None = None) -> EvalResult:
    """Score `predictions` against the annotation file `ann_path` with the evaluator of `kind`.

    Bad files (missing, not JSON, wrong structure or keypoint count, unknown image ids or
    indices) raise `UserError` naming the file. `head_boxes` (MPII only): `mpii_gt_val.mat` (its
    path or `load_mpii_mat`'s result) for the standard PCKh; without it head sizes are estimated
    from the joints (`details["head_size_source"]` says which). `image_ids` (COCO / CrowdPose) restricts
    the evaluation to those images: the ones a capped validation subset predicted.
    """
    if kind not in SPECS:
        raise UserError(f"unknown dataset kind {kind!r} (expected one of {', '.join(SPECS)})")
    spec = SPECS[kind]
    gt = files.read_json(ann_path, "annotation")
    preds, pred_name = _predictions(predictions)
    if kind == "mpii":
        files.check_mpii_gt(gt, ann_path, spec.num_joints)
        files.check_mpii_predictions(preds, pred_name, spec.num_joints, len(gt))
        mat = load_mpii_mat(head_boxes) if isinstance(head_boxes, (str, Path)) else head_boxes
        metrics, per_image, source = evaluate_mpii(gt, preds, spec, ann_path, mat)
        return EvalResult(metrics, per_image, {"head_size_source": source})
    known_ids = files.check_coco_gt(gt, ann_path, spec.num_joints, crowd=kind == "crowdpose")
    files.check_coco_predictions(preds, pred_name, spec.num_joints, known_ids)
    if kind == "coco":
        metrics, per_image = evaluate_coco(ann_path, preds, image_ids)
    else:
        metrics, per_image = evaluate_crowdpose(ann_path, preds, spec.sigmas, image_ids)
    # Beyond the paper: a location measure that stays informative at crop sizes where OKS AP is 0.
    metrics[PCK_NAME] = box_pck(gt, preds, spec.num_joints, image_ids=image_ids)
    return EvalResult(metrics, per_image)


def evaluate_command(dataset: str, ann: str, pred: str,
                     head_boxes: str | None = None) -> dict[str, float | None]:
    """`harness evaluate --dataset D --ann GT --pred PRED [--head-boxes MAT]`: the metrics of the
    file as it is (MPII: standard PCKh with `head_boxes`, else head sizes from the joints)."""
    if head_boxes is not None and dataset != "mpii":
        raise UserError(f"--head-boxes {head_boxes}: head boxes (mpii_gt_val.mat) are for --dataset mpii only")
    return evaluate(dataset, ann, pred, head_boxes=head_boxes).metrics
