"""A procedural articulated person: joint positions from a 2D-projected kinematic skeleton.

The skeleton is generic (21 named joints, a superset of COCO, MPII and CrowdPose); each twin keeps
the joints its spec names (`GENERIC_NAME` maps CrowdPose's `top_head`/`neck`). A pose is sampled
as: a yaw (which way the person faces; the left side is on the image's right when facing the
camera), a torso lean, limb angles with foreshortening, knee and elbow bends, and now and then a
rotated (lying or bending) body. Face points turned away from the camera are not labelled, as
annotators of COCO do not label an eye they cannot see.

All lengths are fractions of the standing height; `sample_pose` scales them to pixels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.data.synth.draws import Draws

JOINTS = (
    "pelvis", "thorax", "upper_neck", "head_top", "nose", "left_eye", "right_eye", "left_ear",
    "right_ear", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
J = {name: i for i, name in enumerate(JOINTS)}
# Spec joint names that differ from the generic ones (CrowdPose's neck sits between the shoulders).
GENERIC_NAME = {"top_head": "head_top", "neck": "thorax"}

TORSO, SHOULDER_HALF, HIP_HALF = 0.30, 0.115, 0.075
NECK, HEAD_RADIUS = 0.055, 0.068
UPPER_ARM, FOREARM, THIGH, SHIN = 0.17, 0.15, 0.245, 0.235


@dataclass
class Pose:
    """One person's joints (G x 2 image px), which generic joints are labelled at all, and the
    view: `yaw` (0 = facing the camera) and `height` (px)."""

    xy: np.ndarray
    labelled: np.ndarray
    yaw: float
    height: float
    head_center: np.ndarray
    head_radius: float
    up: np.ndarray  # the torso's up direction (unit, image frame)

    def depth_sign(self, side: str) -> float:
        """+1 when that side is nearer the camera than the body's midline, else -1."""
        s = -np.sin(self.yaw) * (1.0 if side == "left" else -1.0)
        return 1.0 if s >= 0 else -1.0


def _unit(angle: float) -> np.ndarray:
    """Image-frame unit vector at `angle` radians from straight down, counter-clockwise on screen."""
    return np.array([math.sin(angle), math.cos(angle)])


def _limb(d: Draws, start: np.ndarray, base_angle: float, length: float,
          spread: float, raised: float) -> tuple[np.ndarray, float]:
    """One segment: its end point and absolute angle (mostly near `base_angle`, sometimes anywhere)."""
    angle = d.uniform(-math.pi, math.pi) if d.chance(raised) else d.normal(spread, base_angle)
    foreshorten = d.uniform(0.55, 1.0)
    return start + _unit(angle) * length * foreshorten, angle


def sample_pose(d: Draws, root: np.ndarray, height: float, activity: float = 1.0) -> Pose:
    """A random pose whose pelvis is at `root` (image px) and whose standing height is `height` px.

    `activity` scales how often limbs leave their resting range (sports-heavy MPII: more).
    """
    xy = np.zeros((len(JOINTS), 2))
    labelled = np.ones(len(JOINTS), bool)
    # Half the people roughly face the camera, the others face anywhere.
    yaw = d.normal(0.4) if d.chance(0.6) else d.uniform(-math.pi, math.pi)
    cos_y, sin_y = math.cos(yaw), math.sin(yaw)
    lean = d.normal(0.25) if d.chance(0.8) else d.normal(0.8)
    up = -_unit(lean)  # from pelvis towards the thorax
    lateral = np.array([-up[1], up[0]])  # the person's left when facing the camera (image right)
    h = height
    pelvis = np.asarray(root, float)
    thorax = pelvis + up * TORSO * h * d.uniform(0.8, 1.0)
    xy[J["pelvis"]], xy[J["thorax"]] = pelvis, thorax
    # Lateral offsets shrink with |cos yaw|; a body keeps some width even in profile.
    width = math.copysign(max(abs(cos_y), 0.25), cos_y)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        xy[J[f"{side}_shoulder"]] = thorax + lateral * sign * SHOULDER_HALF * h * width + up * -0.01 * h
        xy[J[f"{side}_hip"]] = pelvis + lateral * sign * HIP_HALF * h * width
    tilt = d.normal(0.25, lean)
    head_up = -_unit(tilt)
    head_lateral = np.array([-head_up[1], head_up[0]])
    neck = thorax + head_up * NECK * h
    radius = HEAD_RADIUS * h
    head_center = neck + head_up * radius * 1.05
    xy[J["upper_neck"]] = neck
    xy[J["head_top"]] = head_center + head_up * radius * 0.95
    # Face points: (left, forward) offsets on the head, projected with the yaw; hidden when turned away.
    face = {"nose": (0.0, 1.0, -0.15), "left_eye": (0.38, 0.85, 0.15), "right_eye": (-0.38, 0.85, 0.15),
            "left_ear": (0.95, 0.0, 0.05), "right_ear": (-0.95, 0.0, 0.05)}
    for name, (a, b, rise) in face.items():
        offset = a * cos_y + b * sin_y
        depth = -a * sin_y + b * cos_y
        xy[J[name]] = head_center + head_lateral * offset * radius + head_up * rise * radius
        labelled[J[name]] = depth > (-0.6 if name.endswith("ear") else -0.05)
    # Limbs: hanging arms and standing legs mostly, sometimes raised or kicked anywhere.
    bend_side = 1.0 if sin_y >= 0 else -1.0  # elbows and knees fold away from the facing direction
    for side in ("left", "right"):
        sho = xy[J[f"{side}_shoulder"]]
        elbow, a_upper = _limb(d, sho, lean, UPPER_ARM * h, 0.7, 0.4 * activity)
        wrist, _ = _limb(d, elbow, a_upper - bend_side * abs(d.normal(1.2)), FOREARM * h, 0.2, 0.15 * activity)
        hip = xy[J[f"{side}_hip"]]
        knee, a_thigh = _limb(d, hip, lean, THIGH * h, 0.35, 0.15 * activity)
        ankle, _ = _limb(d, knee, a_thigh + bend_side * abs(d.normal(0.7)), SHIN * h, 0.1, 0.05 * activity)
        xy[J[f"{side}_elbow"]], xy[J[f"{side}_wrist"]] = elbow, wrist
        xy[J[f"{side}_knee"]], xy[J[f"{side}_ankle"]] = knee, ankle
    if d.chance(0.1 * activity):  # a lying or tumbling person: rotate everything about the pelvis
        turn = d.uniform(-math.pi / 2, math.pi / 2)
        rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        xy = (xy - pelvis) @ rot.T + pelvis
        head_center = (head_center - pelvis) @ rot.T + pelvis
        up = rot @ up
    return Pose(xy=xy, labelled=labelled, yaw=yaw, height=h, head_center=head_center,
                head_radius=radius, up=up)
