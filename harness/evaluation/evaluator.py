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
from harness.evaluation.error_categories import MatchedJoints, categorise, summarise
from harness.evaluation.pck_box import THRESHOLD as PCK_THRESHOLD
from harness.evaluation.pck_box import match_coco, pck_correct
from harness.evaluation.pckh import evaluate_mpii, mpii_matched, pckh_correct
from harness.evaluation.per_image import MPII_MEAN_JOINTS

PCK_NAME = "PCK@0.1"  # COCO / CrowdPose: box-normalised PCK (harness/evaluation/pck_box.py)


# The location metric's threshold per dataset kind: box PCK@0.1 (COCO-style), PCKh@0.5 (MPII).
LOCATION_THRESHOLD = {"coco": PCK_THRESHOLD, "crowdpose": PCK_THRESHOLD, "mpii": 0.5}


@dataclass
class EvalResult:
    """Metrics by name (fractions in [0, 1], None where undefined), per-image arrays (the
    evaluator's, plus `loc_correct` / `loc_visible`: the location metric's counts per image), the
    keypoint error categories (`harness.evaluation.error_categories.summarise`) and how the metrics
    were computed where a dataset allows several ways (`details`, metrics.json's "evaluation"):
    MPII's `head_size_source` is "mat" (standard PCKh, mpii_gt_val.mat) or "joints"."""

    metrics: dict[str, float | None]
    per_image: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)


def _predictions(predictions: list | str | Path) -> tuple[Any, str]:
    if isinstance(predictions, (str, Path)):
        return files.read_json(predictions, "predictions"), str(predictions)
    return predictions, "<predictions>"


def _mat(head_boxes: MpiiGroundTruth | str | Path | None) -> MpiiGroundTruth | None:
    return load_mpii_mat(head_boxes) if isinstance(head_boxes, (str, Path)) else head_boxes


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
        mat = _mat(head_boxes)
        metrics, per_image, matched = evaluate_mpii(gt, preds, spec, ann_path, mat)
        details = {"head_size_source": "joints" if mat is None else "mat"}
    else:
        details = {}
        known_ids = files.check_coco_gt(gt, ann_path, spec.num_joints, crowd=kind == "crowdpose")
        files.check_coco_predictions(preds, pred_name, spec.num_joints, known_ids)
        if kind == "coco":
            metrics, per_image = evaluate_coco(ann_path, preds, image_ids)
        else:
            metrics, per_image = evaluate_crowdpose(ann_path, preds, spec.sigmas, image_ids)
        # Beyond the paper: a location measure that stays informative at crop sizes where OKS AP is 0.
        matched = match_coco(gt, preds, spec.num_joints, image_ids)
        metrics[PCK_NAME] = _location(kind, matched)
    per_image.update(location_per_image(kind, matched, per_image["image_ids"]))
    codes = categorise(matched, LOCATION_THRESHOLD[kind], spec.flip_pairs)
    return EvalResult(metrics, per_image, summarise(codes, spec.joints), details)


def location_metrics(kind: str, ann_path: str | Path, predictions: list | str | Path, *,
                     head_boxes: MpiiGroundTruth | str | Path | None = None,
                     image_ids: list[int] | None = None) -> EvalResult:
    """The dataset's location metric alone (box PCK@0.1, or MPII PCKh Mean), as `evaluate`
    computes it, without the AP evaluation (the ladder scores several read-outs this way):
    `metrics` {location metric: value}, `per_image` {image_ids, loc_correct, loc_visible} aligned
    as `evaluate`'s (COCOeval's image order: the given ids, or every image of the file, sorted)."""
    if kind not in SPECS:
        raise UserError(f"unknown dataset kind {kind!r} (expected one of {', '.join(SPECS)})")
    spec = SPECS[kind]
    gt = files.read_json(ann_path, "annotation")
    preds, _ = _predictions(predictions)
    if kind == "mpii":
        matched = mpii_matched(gt, preds, spec.num_joints, ann_path, _mat(head_boxes))
        ids = np.sort(np.array([p["index"] for p in preds], dtype=np.int64), kind="stable")
    else:
        matched = match_coco(gt, preds, spec.num_joints, image_ids)
        ids = np.array(sorted(image_ids if image_ids is not None else {int(i["id"]) for i in gt["images"]}),
                       dtype=np.int64)
    per_image = {"image_ids": ids, **location_per_image(kind, matched, ids)}
    return EvalResult({spec.location_metric: _location(kind, matched)}, per_image)


def _location(kind: str, m: MatchedJoints) -> float | None:
    """sum(correct) / sum(visible) over the location metric's joints (MPII's Mean: no pelvis, thorax)."""
    correct, visible = _location_counts(kind, m)
    total = int(visible.sum())
    return float(correct.sum() / total) if total else None


def _location_counts(kind: str, m: MatchedJoints) -> tuple[np.ndarray, np.ndarray]:
    """Per-annotation counts (N) of correct and of scored joints of the location metric."""
    visible = np.asarray(m.visible, bool)
    with np.errstate(invalid="ignore"):
        if kind == "mpii":  # exactly PCKh's comparison, on the joints of its Mean
            correct = pckh_correct(m.pred, m.gt, visible, m.norm, LOCATION_THRESHOLD[kind])
            correct, visible = correct[:, MPII_MEAN_JOINTS], visible[:, MPII_MEAN_JOINTS]
        else:
            correct = pck_correct(m.pred, m.gt, visible, m.norm, LOCATION_THRESHOLD[kind])
    return correct.sum(axis=1), visible.sum(axis=1)


def location_per_image(kind: str, m: MatchedJoints, image_ids: np.ndarray) -> dict[str, np.ndarray]:
    """`loc_correct`, `loc_visible` (N, aligned with the per-image `image_ids`): the location
    metric is sum(loc_correct[idx]) / sum(loc_visible[idx]) on any image resample idx. MPII's
    per-image rows are its annotations (their `image_ids` are annotation indices)."""
    correct, visible = _location_counts(kind, m)
    ids = np.asarray(image_ids, dtype=np.int64)
    if kind == "mpii":
        return {"loc_correct": correct.astype(np.int64), "loc_visible": visible.astype(np.int64)}
    pos = {int(i): n for n, i in enumerate(ids)}
    out_c, out_v = np.zeros(len(ids), np.int64), np.zeros(len(ids), np.int64)
    for img, c, v in zip(np.asarray(m.image, np.int64), correct, visible):
        if int(img) in pos:
            out_c[pos[int(img)]] += int(c)
            out_v[pos[int(img)]] += int(v)
    return {"loc_correct": out_c, "loc_visible": out_v}


def evaluate_command(dataset: str, ann: str, pred: str,
                     head_boxes: str | None = None) -> dict[str, float | None]:
    """`harness evaluate --dataset D --ann GT --pred PRED [--head-boxes MAT]`: the metrics of the
    file as it is (MPII: standard PCKh with `head_boxes`, else head sizes from the joints)."""
    if head_boxes is not None and dataset != "mpii":
        raise UserError(f"--head-boxes {head_boxes}: head boxes (mpii_gt_val.mat) are for --dataset mpii only")
    return evaluate(dataset, ann, pred, head_boxes=head_boxes).metrics
