"""Merging the response maps of several memory scales onto the one stride-4 `responses` grid.

The paper does not say how R over the concatenated memory (one row per keypoint, a distribution
over every memory position of every scale) becomes one map. Each scale's slice of R is resampled
to the stride-4 grid (`models.grid.resample`) and the slices are summed:

- "density" (default) divides each slice by the area of one of its cells in stride-4 cells,
  (s/4)^2, so the merged map is the attention mass per stride-4 cell and sums to ~1 over the crop;
- "value" adds the resampled weights as they are, which favours the coarse scales 4x (stride 8)
  and 16x (stride 16) per unit of mass: measured on the COCO twin (64x48, resnet18, MS only,
  MSE-only supervision, 4,800 samples) it decoded at PCK@0.1 0.12 against 0.51 with "density"
  (the mean pose: 0.40), the argmax snapping to the 4 x 3 stride-16 grid. (That PCK, from a
  one-off script, is normalised by the crop height, not the box as the harness's `PCK@0.1` is;
  the ranking is what matters.)
"""
from __future__ import annotations

import torch

from models.choices import RESPONSE_MERGES
from models.grid import resample

RESPONSE_STRIDE = 4  # `responses` always lives on the stride-4 grid
MERGES = RESPONSE_MERGES


def merge_scales(response: torch.Tensor, grids: list[tuple[int, int, int]], size: tuple[int, int],
                 merge: str = "density") -> torch.Tensor:
    """response B x K x L (L = sum of h * w over `grids`, in that order), grids [(stride, h, w)]
    -> B x K x size on the stride-4 grid."""
    if merge not in MERGES:
        raise ValueError(f"response_merge must be 'value' or 'density', got {merge!r}")
    b, k = response.shape[:2]
    merged, offset = None, 0
    for stride, h, w in grids:
        part = response[:, :, offset: offset + h * w].reshape(b, k, h, w)
        part = resample(part, stride, RESPONSE_STRIDE, size)
        if merge == "density":
            part = part * (RESPONSE_STRIDE / stride) ** 2
        merged = part if merged is None else merged + part
        offset += h * w
    return merged
