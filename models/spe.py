"""Spatial-aware Position Encoding (SPE, Sec. 3.3, Eqs. 3-4).

F_key: one map per keypoint, a Gaussian at the argmax of that keypoint's class map ("coarse
keypoint location maps via finding the max value of M", taken before M's ReLU: `cam_peaks`).
The argmax is taken on the CAM grid, converted to crop pixels (grid point j sits at pixel j * stride, the heatmap convention used everywhere in
the harness) and the Gaussian is rendered directly on each feature scale's grid with a sigma of
`sigma_cells` CAM cells, which is the CAM-grid Gaussian resampled to that scale. The argmax is
not differentiable: F_key is a prior, and the CAM learns from its own classification loss.

Eq. 3, phi = F (x) F_key: the paper's "cross-product" of a d-channel map with a K-channel map
is ambiguous (a declared reading, `harness/paper/readings.py`, "spe_fusion"; `SPE_FUSIONS`).
Literal default (`fusion="product"`): phi = F * W_key(F_key), W_key a 1x1 conv K -> d
(element-wise product), i.e. the features gated by a learned embedding of the location prior.
`fusion="embed"`: phi = W_key(F_key), the location prior as an additive position code.
`fusion="outer"`: phi = W_outer(F (x) F_key), the outer (tensor) product of the two vectors at each
position (d x K channels) projected back to d by a 1x1 conv: each keypoint's Gaussian selects its
own linear map of the features, so the code says which joint is near, not only that one is.
Eq. 4, F' = psi(phi + F), psi = 1x1 conv + GroupNorm. SPE is applied once, at the encoder input,
and replaces the baseline's learned position embedding. One SPE per feature scale (the scales'
features differ), each built from the same peaks.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.choices import SPE_FUSIONS


def cam_peaks(class_maps: torch.Tensor, stride: int) -> torch.Tensor:
    """B x K x h x w class maps S (before the CAM's ReLU) -> B x K x 2 argmax positions (x, y) in
    crop pixels, detached.

    Why before the ReLU: the paper's "max value of M" is the same point wherever M = ReLU(S) has a
    positive value, but where S is negative everywhere M is all zero and its argmax would be the
    first cell (the crop's top-left corner) whatever the image shows."""
    b, k, h, w = class_maps.shape
    idx = class_maps.detach().flatten(2).argmax(dim=2)
    ys = torch.div(idx, w, rounding_mode="floor")
    xs = idx - ys * w
    return torch.stack([xs, ys], dim=-1).float() * stride


def gaussian_maps(peaks: torch.Tensor, height: int, width: int, stride: int, sigma_px: float) -> torch.Tensor:
    """Peak-1 Gaussians B x K x height x width at `peaks` (B x K x 2, pixels) on a stride-`stride` grid."""
    xs = torch.arange(width, device=peaks.device, dtype=torch.float32) * stride
    ys = torch.arange(height, device=peaks.device, dtype=torch.float32) * stride
    dx2 = (xs.view(1, 1, 1, -1) - peaks[..., 0, None, None]) ** 2
    dy2 = (ys.view(1, 1, -1, 1) - peaks[..., 1, None, None]) ** 2
    return torch.exp(-(dx2 + dy2) / (2.0 * sigma_px ** 2))


class SpatialPositionEncoding(nn.Module):
    def __init__(self, num_keypoints: int, d_model: int, fusion: str = "product"):
        super().__init__()
        if fusion not in SPE_FUSIONS:
            raise ValueError(f"fusion must be one of {SPE_FUSIONS}, got {fusion!r}")
        self.fusion = fusion
        # "outer" has no W_key: a parameter that fed nothing would have no gradient (DDP refuses it)
        self.w_key = nn.Conv2d(num_keypoints, d_model, kernel_size=1) if fusion != "outer" else None
        self.w_outer = nn.Conv2d(num_keypoints * d_model, d_model, kernel_size=1) if fusion == "outer" else None
        self.psi = nn.Sequential(nn.Conv2d(d_model, d_model, kernel_size=1), nn.GroupNorm(math.gcd(32, d_model), d_model))

    def forward(self, feature: torch.Tensor, key_maps: torch.Tensor) -> torch.Tensor:
        """feature F: B x d x h x w; key_maps F_key: B x K x h x w -> F' (B x d x h x w)."""
        key_maps = key_maps.to(feature.dtype)
        if self.w_outer is not None:
            outer = torch.einsum("bdhw,bkhw->bdkhw", feature, key_maps).flatten(1, 2)
            phi = self.w_outer(outer)  # Eq. 3, "outer"
        else:
            key = self.w_key(key_maps)
            phi = feature * key if self.fusion == "product" else key  # Eq. 3
        return self.psi(phi + feature)  # Eq. 4
