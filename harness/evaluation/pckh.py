"""MPII PCKh: pure functions on arrays, and the matching of mmpose-layout predictions to annotations.

A joint is correct when ``||pred - gt|| <= thr * head_size``, counted only where the ground truth
is visible, as in the standard MPII evaluation. ``head_size`` is 0.6 x the head-box diagonal.

Standard PCKh (``head_size_source`` "mat"): with ``mpii_gt_val.mat`` (`harness.data.mpii_mat`)
the head boxes, the joints and their visibility (``jnt_missing``) are the .mat's, exactly what
the MPII evaluation, mmpose and HRNet score against. Without it (``head_size_source``
"joints", not comparable with published numbers) the json's joints and ``joints_vis`` are used
and each head box is derived from the annotation: a square box centred between the two `head`
joints of the spec's `Pckh` (MPII: head_top and upper_neck) whose side is their distance d -- the
MPII head rectangle spans roughly the neck-to-crown segment -- so head_size = 0.6 * sqrt(2) * d. An
annotation whose head joints are not visible (or coincide) then has no head size; its joints are
not counted.

Groups (Head, Shoulder, ...) average the PCKh of their joints, as the standard evaluation does
(``0.5 * (PCKh[left] + PCKh[right])``); ``Mean`` pools all visible joints of the mean's joints
(MPII: all but pelvis and thorax) -- the standard count-weighted mean -- and ``Mean@0.1`` does so at threshold 0.1
(exactly 0.1; HRNet's script reads its 0.11 row under that name, mmpose reads 0.1).
Predictions and annotations are compared in the same pixel frame: the joints as the json (and
the .mat) store them. Annotations without a prediction are not scored (a quick run may predict
only the first instances); the per-image arrays cover the predicted annotations only.
The whole evaluation (file checks, the head-box file, per-image arrays) is
`harness.evaluation.pckh_family`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.data.mpii_mat import MpiiGroundTruth, check_matches
from harness.evaluation.error_categories import MatchedJoints

SC_BIAS = 0.6  # head size = 0.6 x head-box diagonal (standard MPII)


def head_sizes_from_boxes(boxes: np.ndarray) -> np.ndarray:
    """0.6 x the diagonal of each x1, y1, x2, y2 box (N)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return SC_BIAS * np.linalg.norm(boxes[:, 2:4] - boxes[:, 0:2], axis=1)


def head_sizes_from_joints(joints: np.ndarray, visible: np.ndarray, head: tuple[int, int]) -> np.ndarray:
    """Head size of the derived square head box (N); NaN where a `head` joint (top, neck) is missing."""
    top, neck = head
    d = np.linalg.norm(joints[:, top] - joints[:, neck], axis=1)
    ok = visible[:, top] & visible[:, neck] & (d > 0)
    return np.where(ok, SC_BIAS * np.sqrt(2.0) * d, np.nan)


def pckh_correct(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, head_size: np.ndarray,
                 thr: float) -> np.ndarray:
    """NxK bool: visible joints whose error is at most `thr` head sizes."""
    err = np.linalg.norm(pred - gt, axis=2) / head_size[:, None]
    with np.errstate(invalid="ignore"):
        return (err <= thr) & visible


def pckh_metrics(correct: np.ndarray, correct01: np.ndarray, visible: np.ndarray,
                 groups: dict[str, tuple[int, ...]], mean_joints: tuple[int, ...]) -> dict[str, float | None]:
    """Group PCKh@0.5, Mean and Mean@0.1 (over `mean_joints`) as fractions; None where no joint is visible."""
    mean = list(mean_joints)
    count = visible.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = np.where(count > 0, correct.sum(axis=0) / count, np.nan)
    out: dict[str, float | None] = {}
    for name, joints in groups.items():
        vals = per_joint[list(joints)]
        vals = vals[~np.isnan(vals)]
        out[name] = float(vals.mean()) if vals.size else None
    total = int(count[mean].sum())
    out["Mean"] = float(correct[:, mean].sum() / total) if total else None
    out["Mean@0.1"] = float(correct01[:, mean].sum() / total) if total else None
    return out


def mpii_matched(ann: list[dict[str, Any]], preds: list[dict[str, Any]], num_joints: int, head: tuple[int, int],
                 ann_path: str | Path, mat: MpiiGroundTruth | None = None) -> MatchedJoints:
    """The predicted annotations, in annotation order, with their predictions: `norm` is the head
    size (NaN where it cannot be had), `visible` the scored joints (visible, head size known),
    `labelled` the joints the annotation places, `image` an index of the image file (who shares it).
    With `mat` (mpii_gt_val.mat) the head sizes, joints and visibility are its own (standard PCKh);
    without it the head sizes come from the joints `head` (top, neck)."""
    k = num_joints
    index = np.array([p["index"] for p in preds], dtype=np.int64)
    pred = np.array([p["keypoints"] for p in preds], dtype=np.float64).reshape(-1, k, 3)[:, :, :2]
    joints = np.array([a["joints"] for a in ann], dtype=np.float64)
    vis = np.array([a["joints_vis"] for a in ann], dtype=np.float64) > 0
    if mat is not None:
        check_matches(mat, joints, vis, ann_path)
        joints, vis = mat.joints, mat.visible
        size = head_sizes_from_boxes(mat.head_boxes)
    else:
        size = head_sizes_from_joints(joints, vis, head)
    _, image = np.unique(np.array([str(a.get("image", i)) for i, a in enumerate(ann)]), return_inverse=True)
    order = np.argsort(index, kind="stable")  # per-image rows in annotation order
    index, pred = index[order], pred[order]
    return MatchedJoints(gt=joints[index], labelled=vis[index], visible=vis[index] & ~np.isnan(size[index])[:, None],
                         norm=size[index], image=image[index], pred=pred)

