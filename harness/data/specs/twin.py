"""How a dataset's synthetic twin looks and names its images: `SceneStyle` and `TwinStyle`.

Each spec declares its twin here (`KeypointSpec.twin`); `harness/data/synth/` draws and writes it.
Every `SceneStyle` field is part of a twin's cache key (`harness/data/synth/params.py`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SceneStyle:
    """How a dataset's images look. Sizes in px; `heights` is a log-uniform range of standing heights."""

    size: tuple[int, int]  # (H, W)
    people: tuple[float, ...]  # probabilities of 1, 2, 3, ... people (ignored when crowd)
    heights: tuple[float, float]
    x_range: tuple[float, float]  # pelvis x as a fraction of W (beyond [0, 1] = truncated)
    y_range: tuple[float, float]  # pelvis y as a fraction of H
    occluder_prob: float
    crowd: bool = False
    activity: float = 1.0  # how often limbs leave their resting range (see body.sample_pose)


@dataclass(frozen=True)
class TwinStyle:
    """A twin's scene and its image naming, in the dataset's own style.

    Image i of a split (0 train, 1 val) has the id ``first_id + split * split_stride + i`` and the
    file name of that id zero-padded to `digits` digits (0: not padded), ``.jpg``.
    """

    scene: SceneStyle
    first_id: int
    split_stride: int
    digits: int = 0

    def image_name(self, split: int, i: int) -> tuple[int, str]:
        """(image id, file name) of image `i` of split `split`; ids differ between splits."""
        image_id = self.first_id + split * self.split_stride + i
        return image_id, f"{image_id:0{self.digits}d}.jpg"
