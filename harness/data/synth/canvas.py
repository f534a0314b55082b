"""Drawing primitives with cv2 into an image and, for silhouettes, an id map (who is on top where).

Coordinates are floats, drawn with 4 fractional bits (cv2's `shift`), so joints sit at sub-pixel
positions exactly where the annotation says. The id map (uint8, 0 = background, 255 = occluder,
i + 1 = person i) tells, at each joint, whether something else was drawn over it.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import cv2
import numpy as np

SHIFT = 4
_ONE = 1 << SHIFT
OCCLUDER_ID = 255


class Prim(NamedTuple):
    """One shape: `kind` line | poly | circle | ellipse; `silhouette` False for decorations."""

    kind: str
    points: Sequence  # (x, y) pairs -- line: 2; poly: N; circle/ellipse: 1 (the centre)
    size: tuple  # line: (thickness,); circle: (radius,); ellipse: (ax, ay, angle, start, end); poly: ()
    color: tuple[int, int, int]
    silhouette: bool = True


def _pt(point) -> tuple[int, int]:
    # Plain Python on two floats (far cheaper than a NumPy round trip); floor(v + 0.5) rounds.
    return math.floor(point[0] * _ONE + 0.5), math.floor(point[1] * _ONE + 0.5)


def draw_prim(target: np.ndarray, prim: Prim, color) -> None:
    pts = prim.points
    if prim.kind == "line":
        thickness = max(1, int(round(prim.size[0])))
        cv2.line(target, _pt(pts[0]), _pt(pts[1]), color, thickness, cv2.LINE_8, SHIFT)
    elif prim.kind == "poly":
        fixed = np.round(np.asarray(pts, np.float64) * _ONE).astype(np.int32)
        cv2.fillConvexPoly(target, fixed, color, cv2.LINE_8, SHIFT)
    elif prim.kind == "circle":
        cv2.circle(target, _pt(pts[0]), max(1, int(round(prim.size[0] * _ONE))), color, -1, cv2.LINE_8, SHIFT)
    elif prim.kind == "ellipse":
        ax, ay, angle, start, end = prim.size
        axes = (max(1, int(round(ax * _ONE))), max(1, int(round(ay * _ONE))))
        cv2.ellipse(target, _pt(pts[0]), axes, float(angle), float(start), float(end), color, -1, cv2.LINE_8, SHIFT)
    else:
        raise ValueError(f"unknown primitive {prim.kind!r}")


def draw(image: np.ndarray, idmap: np.ndarray | None, prims: list[Prim], ident: int) -> None:
    """Paint `prims` in order; silhouettes also write `ident` into `idmap`."""
    for prim in prims:
        draw_prim(image, prim, prim.color)
        if idmap is not None and prim.silhouette:
            draw_prim(idmap, prim, int(ident))
