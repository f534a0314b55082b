"""MPII in mmpose's json layout -> `InstanceTable`, and the head boxes of the validation split.

Each entry: {image, center, scale, joints (16 x 2), joints_vis (16)}. Joints stay in the frame
the json stores them in (MPII's 1-based pixel coordinates): the evaluator compares predictions
with the same json, so no +-1 conversion happens anywhere.

Head boxes (standard PCKh) come from `mpii_gt_val.mat`: see `harness.data.mpii_mat`. `load_split`
is what the spec's `MpiiJson.load_split` runs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.data.annotations import bad, read_json
from harness.data.boxes import mpii_center_size
from harness.data.images import looks_like_image
from harness.data.instances import InstanceTable
from harness.data.mpii_mat import load_mpii_mat
from harness.data.paths import SplitFiles
from harness.data.skips import SkipCounter
from harness.data.specs import KeypointSpec
from harness.errors import UserError


def _image_id(name: str, fallback: int) -> int:
    stem = Path(name).stem
    return int(stem) if stem.isdigit() else fallback


def load_split(files: SplitFiles, spec: KeypointSpec, skips: SkipCounter) -> tuple[InstanceTable, dict]:
    """The instances of a split and {ann_path, head_boxes (the validation split's .mat, when the
    dataset names one), detections (None)}."""
    table, num_annotations = load_mpii(files.ann, files.images, spec, skips)
    head_boxes = None
    if files.head_boxes is not None:
        # checked against the json here (count) and by the evaluator (joints)
        head_boxes = load_mpii_mat(files.head_boxes)
        if len(head_boxes) != num_annotations:
            raise UserError(f"{files.head_boxes}: {len(head_boxes)} head boxes for the "
                            f"{num_annotations} annotations of {files.ann}")
    return table, {"ann_path": files.ann, "head_boxes": head_boxes, "detections": None}


def load_mpii(ann_path: Path, image_dir: Path, spec: KeypointSpec,
              skips: SkipCounter) -> tuple[InstanceTable, int]:
    """The instances of an MPII json, and the length of its annotation list."""
    data = read_json(ann_path, "annotation file")
    if not isinstance(data, list):
        raise bad(ann_path, "expected a list of {image, center, scale, joints, joints_vis} (mmpose MPII layout)")
    k = spec.num_joints
    paths: list[str] = []
    slot_of: dict[str, int] = {}
    readable: dict[int, bool] = {}
    rows = []
    for i, a in enumerate(data):
        try:
            name = str(a["image"])
            xy = np.asarray(a["joints"], dtype=np.float32).reshape(k, 2)
            vis = np.asarray(a["joints_vis"], dtype=np.float32).reshape(k)
            center = [float(c) for c in a["center"]]
            scale = float(a["scale"])
        except (KeyError, TypeError, ValueError):
            raise bad(ann_path, f"annotation {i} lacks image, center, scale, {k} joints or joints_vis") from None
        if not (vis > 0).any():
            skips.add("annotations without keypoints")
            continue
        if center[0] == -1 or scale <= 0:
            skips.add("annotations without a person box")
            continue
        if name not in slot_of:
            slot_of[name] = len(paths)
            paths.append(str(image_dir / name))
        slot = slot_of[name]
        if slot not in readable:
            readable[slot] = looks_like_image(paths[slot])
        if not readable[slot]:
            skips.add("instances on missing or unreadable images")
            continue
        cx, cy, w, h = mpii_center_size(center, scale)
        joints = np.concatenate([xy, vis[:, None]], axis=1)
        rows.append((slot, _image_id(name, i), cx, cy, w, h, joints, w * h, 1.0, i))
    return InstanceTable.from_rows(paths, rows, k), len(data)
