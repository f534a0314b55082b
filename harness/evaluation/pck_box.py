"""Box-normalised PCK for COCO-style results (COCO, CrowdPose): a location measure beyond the paper.

A visible ground-truth joint (v > 0) is correct when the matched prediction's joint lies within
``thr * max(box width, box height)`` of it; PCK@thr is the fraction of correct visible joints
over all non-crowd annotations with keypoints. An annotation without a matched prediction counts
all its visible joints as wrong.

Why it exists: OKS AP uses per-joint tolerances of a few pixels on a 200-pixel person, finer than
one cell of a 64 x 48 crop's stride-4 grid, so at smoke and synthetic scale every model and the
mean-pose reference score AP 0 and the table cannot tell a model that localises from one that
does not. PCK@0.1 of the box stays informative there (the issue's calibration uses it too).

Matching (top-down results carry no annotation id): within each image, greedily pair the
annotation and prediction with the smallest mean distance over the annotation's visible joints,
remove both, repeat. With ground-truth-box crops each annotation has its own prediction and the
pairing is exact unless two people overlap almost completely.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from harness.evaluation.error_categories import MatchedJoints

THRESHOLD = 0.1
NAME = f"PCK@{THRESHOLD:g}"  # the metric's name in metrics.json (`KeypointSpec.location_metric`)


def pck_correct(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, norm: np.ndarray,
                thr: float = THRESHOLD) -> np.ndarray:
    """N x K bool: ``||pred - gt|| <= thr * norm`` where visible (pred, gt N x K x 2; norm N)."""
    dist = np.linalg.norm(np.asarray(pred, float) - np.asarray(gt, float), axis=-1)
    return (dist <= thr * np.asarray(norm, float)[:, None]) & np.asarray(visible, bool)


def greedy_match(gt: np.ndarray, visible: np.ndarray, preds: np.ndarray) -> list[tuple[int, int]]:
    """[(annotation, prediction)] pairs by smallest mean visible-joint distance (module docstring)."""
    if len(gt) == 0 or len(preds) == 0:
        return []
    dist = np.linalg.norm(gt[:, None, :, :] - preds[None, :, :, :], axis=-1)  # G x P x K
    vis = visible[:, None, :].astype(float)
    cost = (dist * vis).sum(axis=2) / np.maximum(vis.sum(axis=2), 1.0)
    pairs = []
    for _ in range(min(cost.shape)):
        g, p = np.unravel_index(np.argmin(cost), cost.shape)
        pairs.append((int(g), int(p)))
        cost[g, :] = np.inf
        cost[:, p] = np.inf
    return pairs


def match_coco(gt: dict[str, Any], preds: list[dict[str, Any]], num_joints: int,
               image_ids: list[int] | None = None) -> MatchedJoints:
    """The scored annotations (non-crowd, with keypoints; of `image_ids` when given), each with its
    greedily matched prediction (NaN where none), in image order then annotation order. `norm` is
    the box's longer side; `labelled` = `visible` = v > 0."""
    keep = None if image_ids is None else set(int(i) for i in image_ids)
    anns = defaultdict(list)
    for a in gt.get("annotations", []):
        if keep is not None and a["image_id"] not in keep:
            continue
        if not a.get("iscrowd", 0) and a.get("num_keypoints", 1) > 0 and a.get("keypoints"):
            anns[a["image_id"]].append(a)
    by_image = defaultdict(list)
    for p in preds:
        by_image[p["image_id"]].append(np.asarray(p["keypoints"], float).reshape(num_joints, 3)[:, :2])
    gts, preds_out, norms, images = [], [], [], []
    for image_id in sorted(anns):
        group = anns[image_id]
        kp = np.stack([np.asarray(a["keypoints"], float).reshape(num_joints, 3) for a in group])
        matched = np.full((len(group), num_joints, 2), np.nan)
        found = by_image.get(image_id, [])
        if found:
            pred = np.stack(found)
            for g, p in greedy_match(kp[:, :, :2], kp[:, :, 2] > 0, pred):
                matched[g] = pred[p]
        gts.append(kp)
        preds_out.append(matched)
        norms.extend(max(a["bbox"][2], a["bbox"][3]) for a in group)
        images.extend([image_id] * len(group))
    if not gts:
        empty = np.zeros((0, num_joints))
        return MatchedJoints(np.zeros((0, num_joints, 2)), empty > 0, empty > 0, np.zeros(0), np.zeros(0, np.int64),
                             np.zeros((0, num_joints, 2)))
    kp = np.concatenate(gts)
    visible = kp[:, :, 2] > 0
    return MatchedJoints(gt=kp[:, :, :2], labelled=visible, visible=visible, norm=np.asarray(norms, float),
                         image=np.asarray(images, np.int64), pred=np.concatenate(preds_out))


def box_pck(gt: dict[str, Any], preds: list[dict[str, Any]], num_joints: int,
            thr: float = THRESHOLD, image_ids: list[int] | None = None) -> float | None:
    """PCK@thr of COCO-format predictions against a COCO-format annotation dict; None without joints.

    `image_ids`: score only the annotations of those images (None: all)."""
    return matched_pck(match_coco(gt, preds, num_joints, image_ids), thr)


def matched_pck(m: MatchedJoints, thr: float = THRESHOLD) -> float | None:
    """PCK@thr of matched joints (`match_coco`); None without a visible joint."""
    total = int(m.visible.sum())
    with np.errstate(invalid="ignore"):
        correct = int(pck_correct(m.pred, m.gt, m.visible, m.norm, thr).sum())
    return correct / total if total else None
