"""One synthetic image: background, people (back to front), occluders, and what is visible where.

Visibility flags follow COCO: 2 visible; 1 labelled but occluded (something else is drawn over the
joint; an annotator guesses it half of the time, otherwise leaves it out); 0 not labelled --
outside the image, turned away (face points), or an occluded joint left out. The image-level label
of a joint (v > 0 inside the crop) therefore says "annotated here", as in the real datasets.

A `SceneStyle` (each spec's `twin.scene`, `harness/data/specs/`) sets the image size, how many
people, how large, where, and how often an occluder is thrown in; a crowd style (CrowdPose's) draws
a crowd level per image that sets the number of people and how tightly they stand.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.data.specs import SceneStyle
from harness.data.synth.body import JOINTS, Pose, sample_pose
from harness.data.synth.canvas import draw
from harness.data.synth.clutter import background, occluders
from harness.data.synth.draws import Draws
from harness.data.synth.figure import person_prims

OCCLUDED_LABELLED = 0.5  # chance that an occluded joint is still annotated (v = 1)


@dataclass
class Person:
    """What the annotation of one drawn person needs (generic joints, see `body.JOINTS`)."""

    xy: np.ndarray  # G x 2 image px
    v: np.ndarray  # G int flags 0 / 1 / 2
    bbox: tuple[float, float, float, float]  # x, y, w, h of the drawn figure, clipped to the image
    full_box: tuple[float, float, float, float]  # the same, not clipped (MPII centre and scale)
    area: float  # visible pixels of the person


def _placements(d: Draws, style: SceneStyle) -> list[tuple[np.ndarray, float]]:
    height, width = style.size
    lo, hi = math.log(style.heights[0]), math.log(style.heights[1])
    if style.crowd:
        level = d.uniform()
        count = 1 if level < 0.2 else 2 + int(level * 2.999)
        centre = d.uniform(0.35, 0.65) * width
        spread = (1.5 - 1.1 * level) * width
        xs = [centre + d.uniform(-0.5, 0.5) * spread for _ in range(count)]
    else:
        count = 1 + d.choice(style.people)
        xs = [d.uniform(*style.x_range) * width for _ in range(count)]
    return [(np.array([x, d.uniform(*style.y_range) * height]), math.exp(d.uniform(lo, hi))) for x in xs]


def _figure_box(pose: Pose) -> np.ndarray:
    """x1, y1, x2, y2 around everything drawn for the person (joints grown by a limb's width)."""
    pts = np.concatenate([pose.xy, pose.head_center[None] + pose.head_radius * np.array([[0, -1], [0, 1], [-1, 0], [1, 0]])])
    pad = 0.05 * pose.height
    return np.concatenate([pts.min(axis=0) - pad, pts.max(axis=0) + pad])


def render_scene(rng: np.random.Generator, style: SceneStyle) -> tuple[np.ndarray, list[Person]]:
    """One image (HxWx3 uint8 BGR) and its people, back to front; everything drawn from `rng`."""
    d = Draws(rng)
    height, width = style.size
    image = background(d, height, width)
    idmap = np.zeros((height, width), np.uint8)
    poses = []
    for i, (root, h) in enumerate(_placements(d, style)):
        pose = sample_pose(d, root, h, style.activity)
        draw(image, idmap, person_prims(pose, d), i + 1)
        poses.append(pose)
    occluders(d, image, idmap, [p.xy for p in poses], [p.height for p in poses], style.occluder_prob)
    areas = np.bincount(idmap.ravel(), minlength=256)
    people = []
    for i, pose in enumerate(poses):
        x, y = pose.xy[:, 0], pose.xy[:, 1]
        inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
        xi = np.clip(np.round(x).astype(int), 0, width - 1)
        yi = np.clip(np.round(y).astype(int), 0, height - 1)
        owner = idmap[yi, xi]
        covered = (owner != 0) & (owner != i + 1)
        guessed = np.array([d.chance(OCCLUDED_LABELLED) for _ in JOINTS])
        v = np.where(covered, np.where(guessed, 1, 0), 2)
        v = np.where(inside & pose.labelled, v, 0)
        full = _figure_box(pose)
        x1, y1 = max(full[0], 0.0), max(full[1], 0.0)
        x2, y2 = min(full[2], width - 1.0), min(full[3], height - 1.0)
        people.append(Person(xy=pose.xy, v=v.astype(np.int64), bbox=(x1, y1, max(x2 - x1, 0.0), max(y2 - y1, 0.0)),
                             full_box=(full[0], full[1], full[2] - full[0], full[3] - full[1]),
                             area=float(areas[i + 1])))
    return image, people
