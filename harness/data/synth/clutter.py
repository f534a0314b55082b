"""Backgrounds and occluders: gradients, low-frequency texture, random shapes (some limb-like).

Cheap by design: the texture is a small random grid blown up with one `cv2.resize`, and every
shape is one cv2 call.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from harness.data.synth.canvas import OCCLUDER_ID, Prim, draw
from harness.data.synth.draws import Draws


def background(d: Draws, height: int, width: int) -> np.ndarray:
    """HxWx3 uint8: a two-colour gradient with blotchy texture and 6-16 random shapes."""
    # Gradient and texture on a 7x9 grid, blown up once (uint8 resize is cheap; float maps are not).
    top, bottom = d.rng.uniform(30, 225, 3), d.rng.uniform(30, 225, 3)
    t = np.linspace(0.0, 1.0, 7)[:, None, None]
    grid = top * (1 - t) + bottom * t + d.rng.uniform(-28, 28, (7, 9, 3))
    small = np.clip(grid, 0, 255).astype(np.uint8)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    for _ in range(d.integer(6, 17)):
        draw(image, None, [random_shape(d, height, width, limb_like=d.chance(0.3))], 0)
    return image


def random_shape(d: Draws, height: int, width: int, limb_like: bool = False,
                 center: tuple[float, float] | None = None, size: float | None = None) -> Prim:
    """A rectangle, ellipse, polygon or thick line; `limb_like` makes it a capsule of a limb's width."""
    cx, cy = center if center is not None else (d.uniform(0, width), d.uniform(0, height))
    s = size if size is not None else d.uniform(0.05, 0.35) * min(height, width)
    color = (d.integer(0, 256), d.integer(0, 256), d.integer(0, 256))
    kind = "line" if limb_like else ("rect", "ellipse", "poly", "line")[d.integer(0, 4)]
    if kind == "line":
        angle = d.uniform(0, math.pi)
        dx, dy = math.cos(angle) * s / 2, math.sin(angle) * s / 2
        thick = d.uniform(0.04, 0.1) * min(height, width) if limb_like else d.uniform(2, 0.3 * s + 3)
        return Prim("line", ((cx - dx, cy - dy), (cx + dx, cy + dy)), (thick,), color)
    if kind == "ellipse":
        return Prim("ellipse", ((cx, cy),), (s / 2, s / 2 * d.uniform(0.3, 1.0), d.uniform(0, 180), 0, 360), color)
    if kind == "rect":
        w, h = s * d.uniform(0.4, 1.0) / 2, s * d.uniform(0.4, 1.0) / 2
        return Prim("poly", ((cx - w, cy - h), (cx + w, cy - h), (cx + w, cy + h), (cx - w, cy + h)), (), color)
    angles = sorted(d.uniform(0, 2 * math.pi) for _ in range(d.integer(3, 7)))
    corners = []
    for a in angles:
        r = s / 2 * d.uniform(0.5, 1.0)
        corners.append((cx + math.cos(a) * r, cy + math.sin(a) * r))
    return Prim("poly", tuple(corners), (), color)


def occluders(d: Draws, image: np.ndarray, idmap: np.ndarray, targets: list[np.ndarray],
              heights: list[float], probability: float) -> None:
    """With `probability` per person, draw an object over a random one of its joints."""
    height, width = image.shape[:2]
    for joints, h in zip(targets, heights):
        if not d.chance(probability):
            continue
        jx, jy = joints[d.integer(0, len(joints))].tolist()
        at = (jx + d.normal(0.08 * h), jy + d.normal(0.08 * h))
        prim = random_shape(d, height, width, center=at, size=d.uniform(0.2, 0.5) * h)
        draw(image, idmap, [prim], OCCLUDER_ID)
