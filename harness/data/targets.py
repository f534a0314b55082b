"""Training targets: the image-level multi-hot labels and (labelled instances only) heatmaps.

Both are computed from joints already in crop pixels, after the augmentation:
- `labels[k] = 1` when joint k is labelled (v > 0) and inside the crop (0 <= x < W, 0 <= y < H):
  rule "in_crop", the literal reading; rule "annotated" drops the crop test (v > 0 whatever the
  crop: the paper leaves cutout out "to avoid information leakage", which hints that its labels
  ignore the crop). The rule is a declared reading (`harness/paper/readings.py`, "labels");
  heatmaps and `target_weight` keep "in_crop" (a joint outside the crop has no place on the grid);
- heatmaps on the stride-4 grid follow HRNet / mmpose: grid point (j, i) sits at crop pixel
  (4 j, 4 i); a labelled joint gets a Gaussian of peak 1 and `sigma` cells centred at (x / 4, y / 4)
  (sub-cell exact, not rounded); `target_weight` equals the labels.
"""
from __future__ import annotations

import numpy as np

STRIDE = 4


def visible_in_crop(joints: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """K (or ...xK) float32: 1 where the joint is labelled (v > 0) and inside the (H, W) crop."""
    height, width = input_size
    x, y, v = joints[..., 0], joints[..., 1], joints[..., 2]
    inside = (v > 0) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    return inside.astype(np.float32)


def image_labels(joints: np.ndarray, input_size: tuple[int, int], rule: str = "in_crop") -> np.ndarray:
    """K float32 image-level labels under `rule` ("in_crop" | "annotated", module docstring)."""
    if rule == "annotated":
        return (joints[..., 2] > 0).astype(np.float32)
    return visible_in_crop(joints, input_size)


def gaussian_heatmaps(joints: np.ndarray, weight: np.ndarray, input_size: tuple[int, int],
                      sigma: float, stride: int = STRIDE) -> np.ndarray:
    """K x H/stride x W/stride float32 Gaussians (peak 1) at the joints with weight > 0, else 0."""
    height, width = input_size
    h, w = height // stride, width // stride
    on = (np.asarray(weight) > 0)[:, None]
    mu_x = joints[:, 0:1] / stride  # K x 1
    mu_y = joints[:, 1:2] / stride
    # Separable: exp(-(dx^2 + dy^2) / 2s^2) = exp(-dx^2 / 2s^2) * exp(-dy^2 / 2s^2); a zero row of
    # gx switches a joint off.
    gx = np.where(on, np.exp(-((np.arange(w)[None, :] - mu_x) ** 2) / (2 * sigma**2)), 0.0).astype(np.float32)
    gy = np.exp(-((np.arange(h)[None, :] - mu_y) ** 2) / (2 * sigma**2)).astype(np.float32)
    return gy[:, :, None] * gx[:, None, :]
