"""MPII PCKh: pure functions on arrays, and the wrapper that reads the mmpose-layout files.

A joint is correct when ``||pred - gt|| <= thr * head_size``, counted only where the ground truth
is visible, as in the standard MPII evaluation. ``head_size`` is 0.6 x the head-box diagonal.

Standard PCKh (``head_size_source`` "mat"): with ``mpii_gt_val.mat`` (`harness.data.mpii_mat`)
the head boxes, the joints and their visibility (``jnt_missing``) are the .mat's, exactly what
the MPII evaluation, mmpose and HRNet score against. Without it (``head_size_source``
"joints", not comparable with published numbers) the json's joints and ``joints_vis`` are used
and each head box is derived from the annotation: a square box centred between head_top (9) and
upper_neck (8) whose side is their distance d -- the MPII head rectangle spans roughly the
neck-to-crown segment -- so head_size = 0.6 * sqrt(2) * d. An annotation whose head_top or
upper_neck is not visible (or coincide) then has no head size; its joints are not counted.

Groups (Head, Shoulder, ...) average the PCKh of their joints, as the standard evaluation does
(``0.5 * (PCKh[left] + PCKh[right])``); ``Mean`` pools all visible joints except pelvis (6) and
thorax (7) -- the standard count-weighted mean -- and ``Mean@0.1`` does so at threshold 0.1
(exactly 0.1; HRNet's script reads its 0.11 row under that name, mmpose reads 0.1).
Predictions and annotations are compared in the same pixel frame: the joints as the json (and
the .mat) store them. Annotations without a prediction are not scored (a quick run may predict
only the first instances); the per-image arrays cover the predicted annotations only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.data.mpii_mat import MpiiGroundTruth, check_matches
from harness.data.specs import KeypointSpec
from harness.evaluation.error_categories import MatchedJoints
from harness.evaluation.per_image import MPII_MEAN_JOINTS

SC_BIAS = 0.6  # head size = 0.6 x head-box diagonal (standard MPII)
HEAD_TOP, UPPER_NECK = 9, 8


def head_sizes_from_boxes(boxes: np.ndarray) -> np.ndarray:
    """0.6 x the diagonal of each x1, y1, x2, y2 box (N)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return SC_BIAS * np.linalg.norm(boxes[:, 2:4] - boxes[:, 0:2], axis=1)


def head_sizes_from_joints(joints: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Head size of the derived square head box (N); NaN where head_top/upper_neck is missing."""
    d = np.linalg.norm(joints[:, HEAD_TOP] - joints[:, UPPER_NECK], axis=1)
    ok = visible[:, HEAD_TOP] & visible[:, UPPER_NECK] & (d > 0)
    return np.where(ok, SC_BIAS * np.sqrt(2.0) * d, np.nan)


def pckh_correct(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, head_size: np.ndarray,
                 thr: float) -> np.ndarray:
    """NxK bool: visible joints whose error is at most `thr` head sizes."""
    err = np.linalg.norm(pred - gt, axis=2) / head_size[:, None]
    with np.errstate(invalid="ignore"):
        return (err <= thr) & visible


def pckh_metrics(correct: np.ndarray, correct01: np.ndarray, visible: np.ndarray,
                 groups: dict[str, tuple[int, ...]]) -> dict[str, float | None]:
    """Group PCKh@0.5, Mean and Mean@0.1 as fractions; None where no joint is visible."""
    count = visible.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = np.where(count > 0, correct.sum(axis=0) / count, np.nan)
    out: dict[str, float | None] = {}
    for name, joints in groups.items():
        vals = per_joint[list(joints)]
        vals = vals[~np.isnan(vals)]
        out[name] = float(vals.mean()) if vals.size else None
    total = int(count[MPII_MEAN_JOINTS].sum())
    out["Mean"] = float(correct[:, MPII_MEAN_JOINTS].sum() / total) if total else None
    out["Mean@0.1"] = float(correct01[:, MPII_MEAN_JOINTS].sum() / total) if total else None
    return out


def mpii_matched(ann: list[dict[str, Any]], preds: list[dict[str, Any]], num_joints: int,
                 ann_path: str | Path, mat: MpiiGroundTruth | None = None) -> MatchedJoints:
    """The predicted annotations, in annotation order, with their predictions: `norm` is the head
    size (NaN where it cannot be had), `visible` the scored joints (visible, head size known),
    `labelled` the joints the annotation places, `image` an index of the image file (who shares it).
    With `mat` (mpii_gt_val.mat) the head sizes, joints and visibility are its own (standard PCKh)."""
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
        size = head_sizes_from_joints(joints, vis)
    _, image = np.unique(np.array([str(a.get("image", i)) for i, a in enumerate(ann)]), return_inverse=True)
    order = np.argsort(index, kind="stable")  # per-image rows in annotation order
    index, pred = index[order], pred[order]
    return MatchedJoints(gt=joints[index], labelled=vis[index], visible=vis[index] & ~np.isnan(size[index])[:, None],
                         norm=size[index], image=image[index], pred=pred)


def evaluate_mpii(ann: list[dict[str, Any]], preds: list[dict[str, Any]], spec: KeypointSpec,
                  ann_path: str | Path, mat: MpiiGroundTruth | None = None) -> tuple[dict, dict, MatchedJoints]:
    """PCKh of checked MPII predictions -> (metrics by name, per-image arrays, matched joints);
    standard PCKh with `mat`, head sizes from the joints without it (module docstring)."""
    m = mpii_matched(ann, preds, spec.num_joints, ann_path, mat)
    correct = pckh_correct(m.pred, m.gt, m.visible, m.norm, 0.5)
    correct01 = pckh_correct(m.pred, m.gt, m.visible, m.norm, 0.1)
    index = np.sort(np.array([p["index"] for p in preds], dtype=np.int64), kind="stable")
    per_image = {"kind": np.array("mpii"), "image_ids": index, "correct": correct,
                 "correct01": correct01, "visible": m.visible}
    return pckh_metrics(correct, correct01, m.visible, spec.pckh_groups), per_image, m
