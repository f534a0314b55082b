"""Table 7's response statistics: how strongly each joint's response map fires at the joint.

For one instance and joint: the response map is clipped at 0 and divided by its maximum (a map
with no positive value counts as 0 everywhere), and the value is the MAXIMUM of that normalised
map over the 3x3 grid cells around the ground-truth joint ("within one cell"), clipped to the
grid. The joint's cell follows the heatmap convention of HRNet / mmpose (grid point j sits at
crop pixel j * stride, so the joint's cell is ``floor(x / stride + 0.5)``). The maximum, not the
mean, because the question is whether the map responds at the joint up to one cell of
localisation slack; a mean over the window would also penalise a sharp, correct peak.
NaN where the joint is not visible (v <= 0) or lies outside the crop.

`group_means` then averages over instances and over the joints of each Table 7 group.
"""
from __future__ import annotations

import numpy as np

from harness.data.specs import KeypointSpec


def joint_responses(responses: np.ndarray, joints: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """BxK normalised response within one cell of each GT joint.

    Args:
        responses: BxKxhxw response maps.
        joints: BxKx3 ground-truth joints in input-crop pixels (x, y, visibility).
        input_size: (height, width) of the input crop.
    """
    responses = np.asarray(responses, dtype=np.float64)
    joints = np.asarray(joints, dtype=np.float64)
    b, k, h, w = responses.shape
    height, width = input_size
    stride_x, stride_y = width / w, height / h
    pos = np.clip(responses, 0.0, None)
    peak = pos.reshape(b, k, -1).max(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.where(peak[..., None, None] > 0, pos / peak[..., None, None], 0.0)
    x, y, v = joints[..., 0], joints[..., 1], joints[..., 2]
    inside = (v > 0) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    cx = np.floor(x / stride_x + 0.5).astype(np.int64)
    cy = np.floor(y / stride_y + 0.5).astype(np.int64)
    # Pad with -inf so the 3x3 window never picks a cell outside the grid.
    padded = np.pad(norm, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    bi, ki = np.meshgrid(np.arange(b), np.arange(k), indexing="ij")
    best = np.full((b, k), -np.inf)
    px, py = np.where(inside, cx, 0) + 1, np.where(inside, cy, 0) + 1  # padded coordinates
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            yy = np.clip(py + dy, 0, h + 1)
            xx = np.clip(px + dx, 0, w + 1)
            best = np.maximum(best, padded[bi, ki, yy, xx])
    return np.where(inside, best, np.nan)


def group_means(values: np.ndarray, spec: KeypointSpec) -> dict[str, float | None]:
    """Mean of `values` (NxK, NaN = not counted) over instances and each group's joints."""
    values = np.asarray(values, dtype=np.float64)
    out: dict[str, float | None] = {}
    for name, joints in spec.response_groups.items():
        v = values[:, list(joints)] if values.size else np.zeros((0,))
        v = v[~np.isnan(v)]
        out[name] = float(v.mean()) if v.size else None
    return out
