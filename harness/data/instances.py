"""`InstanceTable`: the person instances of one split, column by column (NumPy arrays).

Columns, not one object per person: a real split holds ~150k instances, and a table of arrays is
small, fast to subset, and cheap to share with DataLoader workers (no per-object refcounts).
Boxes are kept as the annotation gives them (centre and size, unpadded); the dataset turns them
into crop centre/scale for its input aspect ratio (`harness.data.boxes`).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass
class InstanceTable:
    """N person instances of one split.

    Attributes:
        image_paths: one path per image (str); `image_index` points into it.
        image_index: int64 N.
        image_id: int64 N, the dataset's image id (COCO/CrowdPose `id`, MPII the file stem).
        box_center: float64 Nx2, image px.
        box_size: float64 Nx2, box width and height in image px before aspect fix and padding.
        joints: float32 NxKx3, x, y in image px and the visibility flag v (0 = not labelled).
        area: float64 N (COCO `area`, else box w x h).
        score: float64 N, box score (1.0 for ground-truth boxes).
        index: int64 N, position of the instance in its annotation (or detection) list.
    """

    image_paths: list[str]
    image_index: np.ndarray
    image_id: np.ndarray
    box_center: np.ndarray
    box_size: np.ndarray
    joints: np.ndarray
    area: np.ndarray
    score: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return int(self.image_index.shape[0])

    def take(self, rows: np.ndarray) -> "InstanceTable":
        """The instances at `rows` (in that order); the image list is shared."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = {f.name: getattr(self, f.name) for f in fields(self)}
        return InstanceTable(**{k: (v if k == "image_paths" else v[rows]) for k, v in cols.items()})

    @classmethod
    def from_rows(cls, image_paths: list[str], rows: list[tuple], num_joints: int) -> "InstanceTable":
        """Build from tuples (image_index, image_id, cx, cy, w, h, joints Kx3, area, score, index)."""
        n = len(rows)
        table = cls(
            image_paths=image_paths,
            image_index=np.zeros(n, np.int64), image_id=np.zeros(n, np.int64),
            box_center=np.zeros((n, 2)), box_size=np.zeros((n, 2)),
            joints=np.zeros((n, num_joints, 3), np.float32),
            area=np.zeros(n), score=np.ones(n), index=np.zeros(n, np.int64),
        )
        for i, (img, image_id, cx, cy, w, h, joints, area, score, index) in enumerate(rows):
            table.image_index[i], table.image_id[i] = img, image_id
            table.box_center[i] = cx, cy
            table.box_size[i] = w, h
            table.joints[i] = joints
            table.area[i], table.score[i], table.index[i] = area, score, index
        return table
