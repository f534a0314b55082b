"""Person boxes -> crop centre and scale (aspect-ratio fix and padding), as top-down methods do.

`scale` everywhere in the harness is the crop's (width, height) in image pixels -- not the
"x200 px" unit of the MPII files. COCO/CrowdPose boxes are x, y, w, h; MPII gives a centre and a
scale s (person height ~ 200 s px), moved down by 15 s and padded by 1.25 as HRNet/mmpose do.
"""
from __future__ import annotations

import numpy as np

PADDING = 1.25  # crop = box grown by 25 % (HRNet / mmpose)
MPII_PIXEL_STD = 200.0  # MPII's scale unit


def xywh_to_center_size(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    """A COCO box -> (cx, cy, w, h)."""
    return x + 0.5 * w, y + 0.5 * h, w, h


def mpii_center_size(center: tuple[float, float], scale: float) -> tuple[float, float, float, float]:
    """MPII's centre and scale -> (cx, cy, w, h) of the unpadded square person box.

    The centre moves down by 15 s "to avoid cropping limbs" (HRNet, mmpose); the 1.25 padding is
    applied later with every other dataset's.
    """
    side = MPII_PIXEL_STD * scale
    return float(center[0]), float(center[1]) + 15.0 * scale, side, side


def crop_center_scale(box_center: np.ndarray, box_size: np.ndarray, aspect: float,
                      padding: float = PADDING) -> tuple[np.ndarray, np.ndarray]:
    """Grow boxes (..x2 size) to the input aspect ratio (w / h), then pad; -> (centre, scale)."""
    size = np.asarray(box_size, dtype=np.float64).copy()
    w, h = size[..., 0], size[..., 1]
    wide = w > aspect * h
    size[..., 0] = np.where(wide, w, h * aspect)
    size[..., 1] = np.where(wide, w / aspect, h)
    return np.asarray(box_center, dtype=np.float64).copy(), size * padding
