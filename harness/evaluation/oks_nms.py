"""Object keypoint similarity between people, and greedy OKS non-maximum suppression.

OKS as HRNet / mmpose use it for NMS: per joint ``exp(-d^2 / (2 * s^2 * (2 sigma)^2))`` with
``s^2`` the mean of the two areas, averaged over all joints.
"""
from __future__ import annotations

import numpy as np


def oks(ref: np.ndarray, others: np.ndarray, ref_area: float, other_areas: np.ndarray,
        sigmas: np.ndarray) -> np.ndarray:
    """OKS of `ref` (Kx2 or Kx3) against each of `others` (MxKx2/3) -> M."""
    var = (2.0 * np.asarray(sigmas, dtype=np.float64)) ** 2
    d2 = ((others[:, :, :2] - ref[None, :, :2]) ** 2).sum(axis=2)
    scale = (ref_area + np.asarray(other_areas, dtype=np.float64)) / 2.0 + np.spacing(1)
    e = d2 / var[None, :] / scale[:, None] / 2.0
    return np.exp(-e).mean(axis=1)


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas: np.ndarray,
            threshold: float = 0.9) -> list[int]:
    """Indices kept by greedy NMS, best score first: drop any person whose OKS with a kept,
    better-scored person exceeds `threshold`."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        if rest.size == 0:
            break
        sim = oks(keypoints[i], keypoints[rest], float(areas[i]), areas[rest], sigmas)
        order = rest[sim <= threshold]
    return keep
