"""The standard MPII validation ground truth, `mpii_gt_val.mat`, as the MPII evaluation reads it.

The file that the MPII evaluation, mmpose and HRNet read holds, for the N annotations of the
validation json in the same order:

- ``dataset_joints``: the 16 joint names (1 x 16 cell array: rank, rkne, ..., lwri);
- ``jnt_missing``: 16 x N, 1 where a joint is not annotated;
- ``pos_gt_src``: 16 x 2 x N, the joints in MPII's own (1-based) pixel frame, the frame the json
  stores them in;
- ``headboxes_src``: 2 x 2 x N, the head rectangle's corners ([x1, y1], [x2, y2]).

PCKh with this file is the standard one: the head size is 0.6 x the head box diagonal and the
joints and their visibility are the .mat's (`harness.evaluation.pckh`). The file is checked
against the annotation json it is used with (same count, same joints where both annotate one),
so that a .mat of another split or order is one clear error instead of wrong numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.io import loadmat

from harness.errors import UserError

# The standard MPII joint order (the order of `harness.data.specs.mpii`), as the .mat names it.
MAT_JOINT_NAMES = ("rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor", "neck", "head",
                   "rwri", "relb", "rsho", "lsho", "lelb", "lwri")
# A .mat whose joints sit further than this from the json's (median over the joints both files
# annotate) describes other instances: another split, or another order.
MAX_MEDIAN_OFFSET_PX = 2.0


@dataclass(frozen=True)
class MpiiGroundTruth:
    """The .mat's ground truth for N annotations: what the standard PCKh scores against."""

    path: str
    head_boxes: np.ndarray  # N x 4: x1, y1, x2, y2
    joints: np.ndarray  # N x 16 x 2
    visible: np.ndarray  # N x 16 bool (not jnt_missing)

    def __len__(self) -> int:
        return len(self.head_boxes)


def _joint_names(value: np.ndarray) -> list[str]:
    """The names of a MATLAB cell array of strings (object array) or of a char matrix."""
    value = np.asarray(value)
    if value.dtype == object:
        return [str(np.asarray(v).ravel()[0]).strip() if np.asarray(v).size else "" for v in value.ravel()]
    if value.dtype.kind == "U":
        return [str(v).strip() for v in value.ravel()]
    raise ValueError(f"unexpected type {value.dtype}")


def load_mpii_mat(path: str | Path) -> MpiiGroundTruth:
    """Read `path` (scipy.io.loadmat); a missing key or a wrong shape is a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: head boxes file (mpii_gt_val.mat) not found")
    try:
        mat = loadmat(str(path))
    except Exception as exc:  # noqa: BLE001 -- scipy.io raises assorted errors on a file that is not a .mat
        raise UserError(f"{path}: not a readable MATLAB .mat file ({str(exc).splitlines()[0]})") from None
    missing = [k for k in ("dataset_joints", "jnt_missing", "pos_gt_src", "headboxes_src") if k not in mat]
    if missing:
        raise UserError(f"{path}: lacks {', '.join(missing)} (expected mpii_gt_val.mat's layout)")
    try:
        names = _joint_names(mat["dataset_joints"])
    except ValueError as exc:
        raise UserError(f"{path}: dataset_joints is not a list of joint names ({exc})") from None
    if tuple(names) != MAT_JOINT_NAMES:
        raise UserError(f"{path}: dataset_joints {names} is not the standard MPII order "
                        f"({', '.join(MAT_JOINT_NAMES)})")
    missing_j, pos, boxes = (np.asarray(mat[k], dtype=np.float64)
                             for k in ("jnt_missing", "pos_gt_src", "headboxes_src"))
    k = len(MAT_JOINT_NAMES)
    n = boxes.shape[-1] if boxes.ndim == 3 else -1
    if boxes.shape[:2] != (2, 2) or boxes.ndim != 3:
        raise UserError(f"{path}: headboxes_src has shape {boxes.shape}, expected (2, 2, N)")
    if pos.shape != (k, 2, n):
        raise UserError(f"{path}: pos_gt_src has shape {pos.shape}, expected ({k}, 2, {n})")
    if missing_j.shape != (k, n):
        raise UserError(f"{path}: jnt_missing has shape {missing_j.shape}, expected ({k}, {n})")
    return MpiiGroundTruth(
        path=str(path),
        head_boxes=boxes.transpose(2, 0, 1).reshape(n, 4),  # corner, xy, N -> N x (x1, y1, x2, y2)
        joints=pos.transpose(2, 0, 1),
        visible=missing_j.T == 0,
    )


def check_matches(gt: MpiiGroundTruth, ann_joints: np.ndarray, ann_visible: np.ndarray,
                  ann_path: str | Path) -> None:
    """Raise a UserError when the .mat does not describe the json's annotations (module docstring)."""
    if len(gt) != len(ann_joints):
        raise UserError(f"{gt.path}: {len(gt)} head boxes for the {len(ann_joints)} annotations of {ann_path}")
    both = gt.visible & ann_visible
    if both.any():
        offset = float(np.median(np.linalg.norm(gt.joints[both] - ann_joints[both], axis=1)))
        if offset > MAX_MEDIAN_OFFSET_PX:
            raise UserError(f"{gt.path}: its joints are {offset:.1f} px (median) from those of {ann_path}: "
                            "the two files do not describe the same annotations in the same order")
