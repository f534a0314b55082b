"""The feature-grid convention and resampling between strides.

Grid point (i, j) of a stride-s map sits at crop pixel (x, y) = (j * s, i * s): the heatmap
convention of HRNet / mmpose, which the data layer's Gaussian targets, the decoding in
`models.decode` and `harness.evaluation.response` all share. A ResNet / HRNet stride-s feature
cell is centred there too (each stride-2 stage with padding maps output i to input 2i).
Resampling a stride-s map onto a stride-t grid therefore reads the source at j * t / s (bilinear,
border values repeated past the last row / column), which is neither of `F.interpolate`'s
`align_corners` modes for the grids in use here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def resample(maps: torch.Tensor, src_stride: int, dst_stride: int, size: tuple[int, int]) -> torch.Tensor:
    """B x C x h x w on a stride-`src_stride` grid -> B x C x size on a stride-`dst_stride` grid."""
    b, c, h, w = maps.shape
    if (h, w) == tuple(size) and src_stride == dst_stride:
        return maps
    ratio = dst_stride / src_stride
    ys = torch.arange(size[0], device=maps.device, dtype=torch.float32) * ratio
    xs = torch.arange(size[1], device=maps.device, dtype=torch.float32) * ratio
    # grid_sample with align_corners=True: -1 and +1 are the centres of the first / last cells.
    gy = ys * (2.0 / max(h - 1, 1)) - 1.0
    gx = xs * (2.0 / max(w - 1, 1)) - 1.0
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), dim=-1)  # size[0] x size[1] x 2 (x, y)
    grid = grid.unsqueeze(0).expand(b, -1, -1, -1).to(maps.dtype)
    return F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=True)
