"""`evaluate`: one entry point that scores a predictions set on a dataset's ground truth.

`kind` names the dataset; its spec's metric family scores it (`KeypointSpec.evaluator`: OKS AP
with box PCK@0.1 for COCO-format datasets, PCKh for MPII; `harness.evaluation.scoring.Scorer`).
Predictions are the standard results format of that dataset (a list, or the path of a JSON file
holding it) and are scored exactly as given -- no rescoring, no NMS (that happens in
`results.build_results`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.mpii_mat import MpiiGroundTruth
from harness.data.specs import SPECS, KeypointSpec, spec_of
from harness.errors import UserError
from harness.evaluation import files
from harness.evaluation.error_categories import MatchedJoints, categorise, summarise
from harness.evaluation.pck_box import NAME as PCK_NAME

__all__ = ["EvalResult", "PCK_NAME", "evaluate", "evaluate_command", "location_metrics", "location_per_image"]


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


def evaluate(kind: str, ann_path: str | Path, predictions: list | str | Path, *,
             head_boxes: MpiiGroundTruth | str | Path | None = None,
             image_ids: list[int] | None = None) -> EvalResult:
    """Score `predictions` against the annotation file `ann_path` with the metric family of `kind`.

    Bad files (missing, not JSON, wrong structure or keypoint count, unknown image ids or
    indices) raise `UserError` naming the file. `head_boxes` (PCKh): `mpii_gt_val.mat` (its
    path or `load_mpii_mat`'s result) for the standard PCKh; without it head sizes are estimated
    from the joints (`details["head_size_source"]` says which). `image_ids` (OKS AP) restricts
    the evaluation to those images: the ones a capped validation subset predicted.
    """
    spec = spec_of(kind)
    scorer = spec.evaluator.scorer()
    gt = files.read_json(ann_path, "annotation")
    preds, pred_name = _predictions(predictions)
    metrics, per_image, matched, details = scorer.evaluate(spec, gt, ann_path, preds, pred_name, head_boxes,
                                                           image_ids)
    per_image.update(location_per_image(spec, matched, per_image["image_ids"]))
    codes = categorise(matched, scorer.location_threshold, spec.flip_pairs)
    return EvalResult(metrics, per_image, summarise(codes, spec.joints), details)


# what metrics.json's / a reference's `evaluation.metrics` says of a location-only evaluation
# (`location_metrics`'s details, kept where it scores the paper's output: scripts/gpu_seeds.py)
LOCATION_ONLY = "location metric only: no other metric of the dataset (pycocotools / xtcocotools not used)"


def location_metrics(kind: str, ann_path: str | Path, predictions: list | str | Path, *,
                     head_boxes: MpiiGroundTruth | str | Path | None = None,
                     image_ids: list[int] | None = None) -> EvalResult:
    """The dataset's location metric alone (box PCK@0.1, or MPII PCKh Mean), as `evaluate`
    computes it, without the AP evaluation (the ladder scores several read-outs this way):
    `metrics` {location metric: value}, `per_image` {image_ids, loc_correct, loc_visible} aligned
    as `evaluate`'s, `details` `evaluate`'s (MPII's head_size_source) and {"metrics": LOCATION_ONLY}
    (what metrics.json and a reference record where it scores the paper's output: scripts/gpu_seeds.py)."""
    spec = spec_of(kind)
    scorer = spec.evaluator.scorer()
    gt = files.read_json(ann_path, "annotation")
    preds, _ = _predictions(predictions)
    matched, ids = scorer.matched(spec, gt, ann_path, preds, head_boxes, image_ids)
    per_image = {"image_ids": ids, **location_per_image(spec, matched, ids)}
    return EvalResult({spec.location_metric: _location(spec, matched)}, per_image,
                      details={**scorer.details(head_boxes), "metrics": LOCATION_ONLY})


def _location(spec: KeypointSpec, m: MatchedJoints) -> float | None:
    """sum(correct) / sum(visible) over the location metric's joints (MPII's Mean: no pelvis, thorax)."""
    correct, visible = spec.evaluator.scorer().location_counts(spec, m)
    total = int(visible.sum())
    return float(correct.sum() / total) if total else None


def location_per_image(spec: KeypointSpec, m: MatchedJoints, image_ids: np.ndarray) -> dict[str, np.ndarray]:
    """`loc_correct`, `loc_visible` (N, aligned with the per-image `image_ids`): the location
    metric is sum(loc_correct[idx]) / sum(loc_visible[idx]) on any image resample idx. MPII's
    per-image rows are its annotations (their `image_ids` are annotation indices)."""
    return spec.evaluator.scorer().location_per_image(spec, m, image_ids)


def evaluate_command(dataset: str, ann: str, pred: str,
                     head_boxes: str | None = None) -> dict[str, float | None]:
    """`harness evaluate --dataset D --ann GT --pred PRED [--head-boxes MAT]`: the metrics of the
    file as it is (MPII: standard PCKh with `head_boxes`, else head sizes from the joints)."""
    spec = spec_of(dataset)
    if head_boxes is not None and not spec.evaluator.takes_head_boxes:
        takers = " / ".join(k for k, s in SPECS.items() if s.evaluator.takes_head_boxes)
        raise UserError(f"--head-boxes {head_boxes}: head boxes (mpii_gt_val.mat) are for --dataset {takers} only")
    return evaluate(dataset, ann, pred, head_boxes=head_boxes).metrics
