"""A person's appearance: the pose turned into shaded capsules, a torso, hands, feet and a head.

What tells the parts apart (the issue asks that appearance does): colours are drawn per person
(skin, shirt, trousers, shoes, hair), so no part has one fixed colour across the twin, but within
a person
- segments differ: upper arm = shirt, forearm = skin or sleeve, thigh = trousers, shin = a darker
  trouser shade or skin (shorts), hands skin, feet shoes;
- sides differ: left limbs are lighter and carry a light stripe along their axis, right limbs are
  darker and plain;
- the face shows eyes and a nose when turned to the camera, hair at the back otherwise.
Drawing order follows depth: the far arm and leg, the torso, the near leg, the head, the near arm.

Colours are BGR tuples and points plain floats here: this runs ~40 times per image, and NumPy's
per-call overhead on 2- and 3-vectors would dominate the generator's speed.
"""
from __future__ import annotations

import math

import numpy as np

from harness.data.synth.body import J, Pose
from harness.data.synth.canvas import Prim
from harness.data.synth.draws import Draws

SKIN_TONES = ((60, 80, 120), (90, 120, 170), (120, 155, 205), (145, 180, 225), (40, 55, 85))
HAIR = ((20, 20, 25), (30, 50, 80), (60, 110, 160), (90, 90, 95), (25, 35, 45))
Color = tuple[float, float, float]


def _byte(v: float) -> int:
    return 0 if v < 0 else 255 if v > 255 else int(v)


def _c(color: Color) -> tuple[int, int, int]:
    return _byte(color[0]), _byte(color[1]), _byte(color[2])


def lighter(color: Color, amount: float = 0.35) -> Color:
    return tuple(c + (255.0 - c) * amount for c in color)


def darker(color: Color, factor: float = 0.68) -> Color:
    return tuple(c * factor for c in color)


def _jitter(d: Draws, color, amount: float = 12.0) -> Color:
    return tuple(min(max(c + d.uniform(-amount, amount), 0.0), 255.0) for c in color)


def _vivid(d: Draws) -> Color:
    """A random clothing colour (BGR), anywhere from muted to saturated."""
    base = [d.uniform(20, 235) for _ in range(3)]
    grey = sum(base) / 3.0
    gain = d.uniform(0.6, 1.8)
    return tuple(min(max(grey + (c - grey) * gain, 0.0), 255.0) for c in base)


class Palette:
    """One person's colours."""

    def __init__(self, d: Draws):
        self.skin = _jitter(d, SKIN_TONES[d.integer(0, len(SKIN_TONES))])
        self.shirt = _vivid(d)
        self.trousers = darker(_vivid(d), d.uniform(0.4, 0.9))
        self.shoes = tuple(d.uniform(10, 90) for _ in range(3))
        self.hair = _jitter(d, HAIR[d.integer(0, len(HAIR))], 8.0)
        self.long_sleeves = d.chance(0.35)
        self.shorts = d.chance(0.3)


def capsule(p0, p1, thickness: float, color: Color, side: str, light: tuple[float, float]) -> list[Prim]:
    """A shaded limb segment: body, highlight towards the light, and the left-side stripe."""
    color = lighter(color) if side == "left" else darker(color) if side == "right" else color
    (x0, y0), (x1, y1) = p0, p1
    sx, sy = light[0] * thickness * 0.22, light[1] * thickness * 0.22
    prims = [Prim("line", (p0, p1), (thickness,), _c(color)),
             Prim("line", ((x0 + sx, y0 + sy), (x1 + sx, y1 + sy)), (thickness * 0.35,), _c(lighter(color, 0.3)), False)]
    if side == "left":
        prims.append(Prim("line", (p0, p1), (max(1.0, thickness * 0.18),), _c(lighter(color, 0.75)), False))
    return prims


def _arm(pts: list, h: float, pal: Palette, side: str, light) -> list[Prim]:
    sho, elb, wri = pts[J[f"{side}_shoulder"]], pts[J[f"{side}_elbow"]], pts[J[f"{side}_wrist"]]
    forearm_color = darker(pal.shirt, 0.85) if pal.long_sleeves else pal.skin
    prims = capsule(sho, elb, 0.07 * h, pal.shirt, side, light)
    prims += capsule(elb, wri, 0.055 * h, forearm_color, side, light)
    dx, dy = wri[0] - elb[0], wri[1] - elb[1]
    norm = max(math.hypot(dx, dy), 1e-6)
    hand = (wri[0] + dx / norm * 0.02 * h, wri[1] + dy / norm * 0.02 * h)
    prims.append(Prim("circle", (hand,), (0.032 * h,), _c(pal.skin)))
    return prims


def _leg(pts: list, h: float, yaw: float, pal: Palette, side: str, light) -> list[Prim]:
    hip, knee, ankle = pts[J[f"{side}_hip"]], pts[J[f"{side}_knee"]], pts[J[f"{side}_ankle"]]
    shin_color = pal.skin if pal.shorts else darker(pal.trousers, 0.8)
    prims = capsule(hip, knee, 0.1 * h, pal.trousers, side, light)
    prims += capsule(knee, ankle, 0.075 * h, shin_color, side, light)
    forward = 1.0 if math.sin(yaw) >= 0 else -1.0
    toe = (ankle[0] + forward * 0.06 * h * max(abs(math.sin(yaw)), 0.35), ankle[1] + 0.015 * h)
    prims.append(Prim("line", (ankle, toe), (0.05 * h,), _c(pal.shoes)))
    return prims


def _torso(pose: Pose, pts: list, pal: Palette) -> list[Prim]:
    h = pose.height
    quad = pose.xy[[J["left_shoulder"], J["right_shoulder"], J["right_hip"], J["left_hip"]]]
    centre = quad.mean(axis=0)
    # Widen a bit so that a profile view keeps a body, then order the corners around the centre.
    quad = centre + (quad - centre) * 1.18
    quad = quad[np.argsort(np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0]))]
    pelvis, thorax = pts[J["pelvis"]], pts[J["thorax"]]
    hips_low = (pelvis[0] + pose.up[0] * 0.03 * h, pelvis[1] + pose.up[1] * 0.03 * h)
    return [
        Prim("line", (thorax, pelvis), (0.16 * h,), _c(pal.shirt)),
        Prim("poly", quad, (), _c(pal.shirt)),
        Prim("line", (pelvis, hips_low), (0.15 * h,), _c(pal.trousers)),
        Prim("line", (thorax, pts[J["upper_neck"]]), (0.05 * h,), _c(darker(pal.skin, 0.9))),
    ]


def _head(pose: Pose, pts: list, pal: Palette) -> list[Prim]:
    c, r = tuple(pose.head_center.tolist()), pose.head_radius
    up_angle = math.degrees(math.atan2(pose.up[1], pose.up[0]))
    prims = [Prim("circle", (c,), (r,), _c(pal.skin))]
    if math.cos(pose.yaw) < -0.2:  # seen from behind: hair covers the head
        prims.append(Prim("circle", (c,), (r * 1.02,), _c(pal.hair), False))
    else:  # a cap of hair on top, eyes and nose where they face the camera
        prims.append(Prim("ellipse", (c,), (r * 1.04, r * 1.04, up_angle, -80, 80), _c(pal.hair), False))
    labelled = pose.labelled
    dot = max(r * 0.13, 0.8)
    for name in ("left_eye", "right_eye"):
        if labelled[J[name]]:
            prims.append(Prim("circle", (pts[J[name]],), (dot,), (25, 25, 25), False))
    if labelled[J["nose"]]:
        prims.append(Prim("circle", (pts[J["nose"]],), (dot,), _c(darker(pal.skin, 0.7)), False))
    for name in ("left_ear", "right_ear"):
        if labelled[J[name]]:
            prims.append(Prim("circle", (pts[J[name]],), (max(r * 0.2, 1.0),), _c(darker(pal.skin, 0.85))))
    return prims


def person_prims(pose: Pose, d: Draws) -> list[Prim]:
    """Everything one person is drawn with, back to front."""
    pal = Palette(d)
    angle = d.uniform(0, 2 * math.pi)
    light = (math.cos(angle), math.sin(angle))
    pts = pose.xy.tolist()
    h, yaw = pose.height, pose.yaw
    near = "left" if pose.depth_sign("left") > 0 else "right"
    far = "right" if near == "left" else "left"
    return (_arm(pts, h, pal, far, light) + _leg(pts, h, yaw, pal, far, light) + _torso(pose, pts, pal)
            + _leg(pts, h, yaw, pal, near, light) + _head(pose, pts, pal) + _arm(pts, h, pal, near, light))
