"""Writing `mpii_gt_val.mat` files for tests, in the layout of the standard MPII ground truth."""
from __future__ import annotations

from pathlib import Path

import numpy as np

MAT_NAMES = ("rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor", "neck", "head",
             "rwri", "relb", "rsho", "lsho", "lelb", "lwri")


def write_gt_mat(path: Path, joints: np.ndarray, missing: np.ndarray, boxes: np.ndarray) -> Path:
    """mpii_gt_val.mat in the layout the MPII evaluation, mmpose and HRNet read (N annotations):
    dataset_joints 1 x 16 cell array, jnt_missing 16 x N, pos_gt_src 16 x 2 x N, headboxes_src
    2 x 2 x N (corner, xy, N)."""
    from scipy.io import savemat

    names = np.empty((1, 16), dtype=object)
    for i, n in enumerate(MAT_NAMES):
        names[0, i] = np.array([n])
    savemat(str(path), {
        "dataset_joints": names,
        "jnt_missing": missing.T.astype(np.float64),
        "pos_gt_src": joints.transpose(1, 2, 0),
        "headboxes_src": boxes.reshape(-1, 2, 2).transpose(1, 2, 0),
    })
    return path
