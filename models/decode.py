"""Response maps -> keypoints: argmax with the quarter-cell shift, in input-crop pixels, and a score.

Position: the argmax cell (j, i) of each map, moved a quarter cell toward the higher of its two
neighbours along x and along y separately (HRNet's decoding; no shift on the border, or when
the neighbours tie), then converted with the grid convention of `models.grid`:
x = (j +- 0.25) * W / w, y = (i +- 0.25) * H / h.

Score: the decoder's class probability times the peak contrast of the map,
max(0, 1 - mean / peak) of the map clipped at 0 (0 for a flat map, -> 1 for a single sharp
peak). The paper asks for a "normalised peak response"; the map's peak after dividing by its
maximum is always 1, and raw attention peaks shrink with the number of memory positions, so
neither would rank instances. The contrast is scale-free and lives in [0, 1], which the 0.2
keypoint threshold of the COCO rescoring expects.
"""
from __future__ import annotations

import torch


@torch.no_grad()
def decode_responses(responses: torch.Tensor, input_size: tuple[int, int],
                     probs: torch.Tensor | None = None) -> torch.Tensor:
    """responses B x K x h x w, probs B x K (class probabilities, or None for 1) -> B x K x 3 (x, y, score)."""
    maps = responses.detach().float()
    b, k, h, w = maps.shape
    flat = maps.flatten(2)
    idx = flat.argmax(dim=2)
    iy = torch.div(idx, w, rounding_mode="floor")
    ix = idx - iy * w

    def at(yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        return flat.gather(2, (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).unsqueeze(2)).squeeze(2)

    dx = torch.sign(at(iy, ix + 1) - at(iy, ix - 1)) * ((ix > 0) & (ix < w - 1))
    dy = torch.sign(at(iy + 1, ix) - at(iy - 1, ix)) * ((iy > 0) & (iy < h - 1))
    height, width = input_size
    x = (ix.float() + 0.25 * dx) * (width / w)
    y = (iy.float() + 0.25 * dy) * (height / h)

    positive = maps.clamp(min=0).flatten(2)
    top = positive.max(dim=2).values
    contrast = torch.where(top > 0, 1.0 - positive.mean(dim=2) / top.clamp(min=1e-12), torch.zeros_like(top))
    score = contrast.clamp(0.0, 1.0)
    if probs is not None:
        score = score * probs.detach().float()
    return torch.stack([x, y, score], dim=-1)
