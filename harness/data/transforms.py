"""Affine crops and their augmentation: image <-> crop pixel maps, flips, random scale, half-body,
and (beyond the paper) a shift of the crop's centre.

Conventions (pixel centres at integer coordinates, as cv2 draws and warps):
- The crop of (`center`, `scale`) maps the box of size `scale` (w, h, image px) around `center`
  onto the input (H, W): crop = R(rot) S (p - center) + ((W - 1) / 2, (H - 1) / 2), with
  S = diag(W / scale_w, H / scale_h). So the box centre lands on the crop centre and a horizontal
  flip of the crop (x -> W - 1 - x) is exactly a mirror about the box centre.
- `rot` is in degrees, counter-clockwise as seen on screen (positive turns the content left).
- A flip mirrors x and swaps the spec's left/right pairs: a left joint becomes the right one.

Augmentation draws from the generator it is given: the dataset makes one per sample from
(seed, epoch, index), so a sample's crop is the same whichever process loads it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.data.boxes import crop_center_scale
from harness.data.specs import KeypointSpec

SCALE_RANGE = (0.65, 1.35)  # paper, Sec. 4.2: random resize with scale in [0.65, 1.35]
SCALE_SIGMA = 0.35  # the factor is N(1, 0.35) clipped to SCALE_RANGE, as HRNet/mmpose sample it
FLIP_PROB = 0.5
HALF_BODY_PROB = 0.3  # HRNet: on instances with more than 8 labelled joints
HALF_BODY_MIN_JOINTS = 8
HALF_BODY_PADDING = 1.5


def get_affine(center, scale, input_size: tuple[int, int], rot: float = 0.0, inv: bool = False) -> np.ndarray:
    """2x3 matrix image px -> crop px (or crop -> image with `inv`). `input_size` is (H, W)."""
    height, width = input_size
    cx, cy = float(center[0]), float(center[1])
    sx, sy = width / float(scale[0]), height / float(scale[1])
    # Scale first, then rotate the scaled offsets, so a rotated crop keeps its size in pixels.
    # Plain floats: this runs once per sample, where NumPy's per-call overhead would show.
    theta = math.radians(rot)
    cos, sin = math.cos(theta), math.sin(theta)
    a, b, c, d = cos * sx, sin * sy, -sin * sx, cos * sy
    ox, oy = (width - 1) / 2.0, (height - 1) / 2.0
    forward = np.array([[a, b, ox - a * cx - b * cy], [c, d, oy - c * cx - d * cy]])
    return invert_affine(forward) if inv else forward


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    a = np.asarray(matrix, dtype=np.float64)[:, :2]
    t = np.asarray(matrix, dtype=np.float64)[:, 2]
    a_inv = np.linalg.inv(a)
    return np.concatenate([a_inv, (-a_inv @ t)[:, None]], axis=1)


def flip_affine(matrix: np.ndarray, width: int) -> np.ndarray:
    """Follow `matrix` by the crop mirror x -> W - 1 - x."""
    out = np.array(matrix, dtype=np.float64)
    out[0] = -out[0]
    out[0, 2] += width - 1.0
    return out


def warp_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to Nx2 (or ...x2) points."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def crop_to_image(points: np.ndarray, center, scale, input_size: tuple[int, int], rot: float = 0.0) -> np.ndarray:
    """Nx2 crop px -> Nx2 image px (the inverse warp of the crop)."""
    return warp_points(points, get_affine(center, scale, input_size, rot, inv=True))


def image_to_crop(points: np.ndarray, center, scale, input_size: tuple[int, int], rot: float = 0.0) -> np.ndarray:
    """Nx2 image px -> Nx2 crop px."""
    return warp_points(points, get_affine(center, scale, input_size, rot))


def flip_joints(joints: np.ndarray, width: int, spec: KeypointSpec) -> np.ndarray:
    """Kx3 crop joints mirrored (x -> W - 1 - x) with the left/right channels swapped."""
    out = np.asarray(joints).copy()
    out[:, 0] = width - 1 - out[:, 0]
    return out[spec.flip_permutation()]


def flip_channels(x, spec: KeypointSpec):
    """Swap the left/right channels (first axis = joints) of labels, weights or heatmaps."""
    return x[spec.flip_permutation()]


@dataclass(frozen=True)
class CropAugment:
    """What the training augmentation may do (paper, Sec. 4.2: flip and random resize)."""

    flip: bool = True
    scale_range: tuple[float, float] = SCALE_RANGE
    half_body_joints: tuple[int, ...] = ()  # the upper body (spec.upper_body); empty = off
    # beyond the paper: the centre moves by U(-shift, shift) x the (resized) crop box, per axis; 0 = off
    shift: float = 0.0


def half_body_box(joints: np.ndarray, upper: tuple[int, ...], aspect: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """HRNet's half-body crop from the labelled joints of a random half; None when too few.

    Reads keypoint coordinates, so it is applied only to instances that carry location labels.
    """
    labelled = joints[:, 2] > 0
    if labelled.sum() <= HALF_BODY_MIN_JOINTS or rng.random() >= HALF_BODY_PROB:
        return None
    is_upper = np.zeros(len(joints), bool)
    is_upper[list(upper)] = True
    upper_pts = joints[labelled & is_upper, :2]
    lower_pts = joints[labelled & ~is_upper, :2]
    pts = upper_pts if (rng.random() < 0.5 and len(upper_pts) > 2) else lower_pts
    if len(pts) < 2:
        pts = upper_pts
    if len(pts) < 2:
        return None
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center, scale = crop_center_scale(pts.mean(axis=0), hi - lo, aspect, HALF_BODY_PADDING)
    if scale[0] <= 1 or scale[1] <= 1:
        return None
    return center, scale


def sample_crop(center: np.ndarray, scale: np.ndarray, aspect: float, augment: CropAugment,
                joints: np.ndarray | None = None, *, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """A random crop (centre, scale, flip) around a box, drawn from `rng`; `joints` only for
    labelled instances."""
    if joints is not None and augment.half_body_joints:
        half = half_body_box(joints, augment.half_body_joints, aspect, rng)
        if half is not None:
            center, scale = half
    lo, hi = augment.scale_range
    factor = min(max(rng.standard_normal() * SCALE_SIGMA + 1.0, lo), hi)
    flip = augment.flip and rng.random() < FLIP_PROB
    scale = scale * factor
    if augment.shift > 0:
        # Drawn last, so that with the shift off every earlier draw (and so every crop) is as it was.
        center = np.asarray(center, np.float64) + rng.uniform(-augment.shift, augment.shift, 2) * scale
    return center, scale, flip
