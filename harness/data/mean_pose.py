"""`mean_pose`: the training set's mean keypoint positions in crop pixels (the mean-pose reference).

Averaged over the joints that are labelled (v > 0) and inside their ground-truth crop (no
augmentation) -- the same rule as the image-level labels; NaN for a joint never seen.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from harness.data.boxes import crop_center_scale
from harness.data.build import load_split
from harness.data.subsets import pick_instances
from harness.data.targets import visible_in_crop

if TYPE_CHECKING:
    from harness.config import DatasetConfig


def crop_joints_all(box_center: np.ndarray, box_size: np.ndarray, joints: np.ndarray,
                    input_size: tuple[int, int]) -> np.ndarray:
    """NxKx3 joints in their ground-truth crops (the un-rotated `get_affine`, vectorised)."""
    height, width = input_size
    center, scale = crop_center_scale(box_center, box_size, width / height)
    factor = np.stack([width / scale[:, 0], height / scale[:, 1]], axis=1)  # N x 2
    out = joints.astype(np.float64).copy()
    offset = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    out[..., :2] = (joints[..., :2] - center[:, None, :]) * factor[:, None, :] + offset
    return out


def mean_pose(dataset: DatasetConfig, input_size: tuple[int, int], max_instances: int | None = None,
              seed: int = 0) -> np.ndarray:
    """Kx2 mean joint position (x, y) in crop px over visible training joints; NaN where none."""
    table, _ = load_split(dataset, "train")
    if max_instances is not None and max_instances < len(table):
        table = table.take(pick_instances(len(table), max_instances, seed))
    joints = crop_joints_all(table.box_center, table.box_size, table.joints, input_size)
    k = joints.shape[1]
    if len(joints) == 0:
        return np.full((k, 2), np.nan)
    seen = visible_in_crop(joints, input_size) > 0  # N x K
    count = seen.sum(axis=0)
    total = (joints[..., :2] * seen[..., None]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count[:, None] > 0, total / count[:, None], np.nan)
