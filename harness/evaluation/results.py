"""The trial's prediction step: model instances -> the dataset's standard results format.

`build_results` writes what the dataset's metric family reads (`Scorer.results`):

COCO format, for OKS AP (as HRNet and mmpose do): each person's score becomes
``box score x mean of its keypoint scores above 0.2`` (0 when none is above), then OKS-NMS at
0.9 per image with the dataset's sigmas. Entries: image_id, category_id 1, keypoints (flat
x, y, score), score, bbox (x, y, w, h: the extent of the keypoints, the box that pycocotools'
loadRes derives for keypoint results, so that including it changes no number).
MPII format, for PCKh: ``{"index": i, "keypoints": [[x, y, score] x K]}``, i indexing the annotation list.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from harness.data.specs import KeypointSpec
from harness.evaluation.oks_nms import oks_nms

KEYPOINT_SCORE_THRESHOLD = 0.2
OKS_NMS_THRESHOLD = 0.9


def rescore(box_score: float, keypoint_scores: np.ndarray,
            threshold: float = KEYPOINT_SCORE_THRESHOLD) -> float:
    """Box score x mean of the keypoint scores above `threshold` (0 when none is)."""
    s = np.asarray(keypoint_scores, dtype=np.float64)
    s = s[s > threshold]
    return float(box_score * s.mean()) if s.size else 0.0


def _keypoints(inst: dict[str, Any], spec: KeypointSpec) -> np.ndarray:
    kp = np.asarray(inst["keypoints"], dtype=np.float64)
    if kp.shape != (spec.num_joints, 3):
        raise ValueError(f"instance keypoints have shape {kp.shape}, expected ({spec.num_joints}, 3)")
    if not np.isfinite(kp).all():
        raise ValueError(f"instance {inst.get('index')} has non-finite keypoints")
    return kp


def _coco_entry(image_id: int, kp: np.ndarray, score: float) -> dict[str, Any]:
    x0, y0 = kp[:, 0].min(), kp[:, 1].min()
    x1, y1 = kp[:, 0].max(), kp[:, 1].max()
    return {"image_id": int(image_id), "category_id": 1, "keypoints": kp.reshape(-1).tolist(),
            "score": float(score), "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]}


def build_results(instances: list[dict[str, Any]], spec: KeypointSpec) -> list[dict[str, Any]]:
    """Results-format predictions of `spec`'s dataset from instances {image_id, keypoints Kx3
    image px + score, box_score, area, center, scale, index}."""
    return spec.evaluator.scorer().results(spec, instances)


def mpii_results(instances: list[dict[str, Any]], spec: KeypointSpec) -> list[dict[str, Any]]:
    """MPII's list form: one {index, keypoints} per instance."""
    return [{"index": int(inst["index"]), "keypoints": _keypoints(inst, spec).tolist()} for inst in instances]


def coco_results(instances: list[dict[str, Any]], spec: KeypointSpec) -> list[dict[str, Any]]:
    """COCO results: rescored, OKS-NMS'd with the spec's sigmas, image by image (module docstring)."""
    sigmas = np.asarray(spec.sigmas, dtype=np.float64)
    by_image: dict[int, list[dict[str, Any]]] = {}
    for inst in instances:  # images in order of first appearance
        by_image.setdefault(int(inst["image_id"]), []).append(inst)
    results: list[dict[str, Any]] = []
    for image_id, people in by_image.items():
        kps = np.stack([_keypoints(p, spec) for p in people])
        scores = np.array([rescore(p["box_score"], k[:, 2]) for p, k in zip(people, kps)])
        areas = np.array([float(p["area"]) for p in people])
        for i in oks_nms(kps, scores, areas, sigmas, OKS_NMS_THRESHOLD):
            results.append(_coco_entry(image_id, kps[i], scores[i]))
    return results
