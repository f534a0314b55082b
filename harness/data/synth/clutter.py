"""Backgrounds and occluders: gradients, low-frequency texture, random shapes (some limb-like).

Cheap by design: the texture is a small random grid blown up with one `cv2.resize`, and every
shape is one cv2 call.
"""
from __future__ import annotations

import cv2
import numpy as np

from harness.data.synth.canvas import OCCLUDER_ID, Prim, draw


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """HxWx3 uint8: a two-colour gradient with blotchy texture and 6-16 random shapes."""
    # Gradient and texture on a 7x9 grid, blown up once (uint8 resize is cheap; float maps are not).
    top, bottom = rng.uniform(30, 225, 3), rng.uniform(30, 225, 3)
    t = np.linspace(0.0, 1.0, 7)[:, None, None]
    grid = top * (1 - t) + bottom * t + rng.uniform(-28, 28, (7, 9, 3))
    small = np.clip(grid, 0, 255).astype(np.uint8)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    for _ in range(int(rng.integers(6, 17))):
        draw(image, None, [random_shape(rng, height, width, limb_like=rng.random() < 0.3)], 0)
    return image


def random_shape(rng: np.random.Generator, height: int, width: int, limb_like: bool = False,
                 center: np.ndarray | None = None, size: float | None = None) -> Prim:
    """A rectangle, ellipse, polygon or thick line; `limb_like` makes it a capsule of a limb's width."""
    c = center if center is not None else np.array([rng.uniform(0, width), rng.uniform(0, height)])
    s = size if size is not None else rng.uniform(0.05, 0.35) * min(height, width)
    color = tuple(int(v) for v in rng.integers(0, 256, 3))
    kind = "line" if limb_like else ("rect", "ellipse", "poly", "line")[int(rng.integers(4))]
    if kind == "line":
        angle = rng.uniform(0, np.pi)
        d = np.array([np.cos(angle), np.sin(angle)]) * s / 2
        thick = rng.uniform(0.04, 0.1) * min(height, width) if limb_like else rng.uniform(2, 0.3 * s + 3)
        return Prim("line", (c - d, c + d), (thick,), color)
    if kind == "ellipse":
        return Prim("ellipse", (c,), (s / 2, s / 2 * rng.uniform(0.3, 1.0), rng.uniform(0, 180), 0, 360), color)
    if kind == "rect":
        w, h = s * rng.uniform(0.4, 1.0), s * rng.uniform(0.4, 1.0)
        return Prim("poly", c + np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2, (), color)
    angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 7))))
    radii = s / 2 * rng.uniform(0.5, 1.0, len(angles))
    return Prim("poly", c + np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None], (), color)


def occluders(rng: np.random.Generator, image: np.ndarray, idmap: np.ndarray, targets: list[np.ndarray],
              heights: list[float], probability: float) -> None:
    """With `probability` per person, draw an object over a random one of its joints."""
    height, width = image.shape[:2]
    for joints, h in zip(targets, heights):
        if rng.random() >= probability:
            continue
        at = joints[int(rng.integers(len(joints)))] + rng.normal(0.0, 0.08 * h, 2)
        prim = random_shape(rng, height, width, center=at, size=rng.uniform(0.2, 0.5) * h)
        draw(image, idmap, [prim], OCCLUDER_ID)
