"""`KeypointDataset`: top-down person crops with image-level labels (and heatmaps where labelled).

One sample = one person instance: decode its image (cv2), warp the (augmented) crop in one
`cv2.warpAffine` -- the flip is folded into the affine, so no extra pass over pixels -- and compute
the labels from the joints warped with the same matrix. Keys (docs/architecture.md):

- `image` 3xHxW float32 (ImageNet-normalised), `labels` K float32 (v > 0 and inside the crop, or
  v > 0 alone under the label rule "annotated": `harness.data.targets.image_labels`);
- labelled instances only: `heatmaps` KxH/4xW/4 float32, `target_weight` K float32;
- the validation split only: `meta` (center, scale, image_id, score, area, index, joints in crop
  px with visibility).

A sample is indexed by its instance index `i`, or by `(epoch, i)` (what
`harness.trial.loaders.EpochSampler` yields): its augmentation is drawn from a generator seeded
with (seed, epoch, i), so it does not depend on which process loads it or in what order (an
index alone is epoch 0).

A location-free sample never holds a coordinate or a heatmap, and a training sample never holds
`meta`. An image that fails to decode is skipped with a warning: a training sample is replaced by
the next readable instance; a validation sample keeps its meta with a black crop (its instance
is still predicted, so the evaluator sees every instance once). Such failures are counted per
process (a DataLoader worker counts its own).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from harness.data.boxes import crop_center_scale
from harness.data.images import read_image, to_tensor
from harness.data.instances import InstanceTable
from harness.data.mpii_mat import MpiiGroundTruth
from harness.data.skips import DataSkipWarning
from harness.data.specs import KeypointSpec
from harness.data.targets import gaussian_heatmaps, image_labels, visible_in_crop
from harness.data.transforms import CropAugment, flip_affine, get_affine, sample_crop, warp_points


class KeypointDataset(torch.utils.data.Dataset):
    """Person crops of one split. See the module docstring for the sample keys.

    Attributes:
        spec: the dataset's `KeypointSpec`.
        table: the `InstanceTable` (after subsetting).
        labelled: N bool, instances that carry location labels (heatmaps).
        ann_path: the ground-truth annotation file of the split (for the evaluator).
        head_boxes: MPII validation ground truth of mpii_gt_val.mat (`MpiiGroundTruth`: head
            boxes, joints) over the whole annotation list, or None.
        detections: the detections file the crops come from, or None (ground-truth boxes).
        skipped: items skipped so far (at indexing and, later, images that failed to decode).
        seed: the augmentation's seed (with the epoch and the instance index, see the module docstring).
    """

    def __init__(self, table: InstanceTable, spec: KeypointSpec, input_size: tuple[int, int], *,
                 augment: CropAugment | None, labelled: np.ndarray, heatmap_sigma: float,
                 with_meta: bool, ann_path: Path, head_boxes: MpiiGroundTruth | None = None,
                 detections: Path | None = None, skipped: int = 0, seed: int = 0, label_rule: str = "in_crop"):
        self.table, self.spec = table, spec
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.augment = augment
        self.seed = int(seed) % 2**64  # SeedSequence entropy is non-negative
        self.labelled = np.asarray(labelled, bool)
        self.heatmap_sigma = float(heatmap_sigma)
        self.with_meta = with_meta
        self.ann_path, self.head_boxes, self.detections = ann_path, head_boxes, detections
        self.label_rule = label_rule
        self._skipped_at_index = int(skipped)
        self._bad_images: set[str] = set()
        height, width = self.input_size
        self.aspect = width / height
        self.center, self.scale = crop_center_scale(table.box_center, table.box_size, self.aspect)
        self._perm = spec.flip_permutation()

    @property
    def skipped(self) -> int:
        return self._skipped_at_index + len(self._bad_images)

    def __len__(self) -> int:
        return len(self.table)

    def crop_joints(self, row: int, matrix: np.ndarray, flip: bool) -> np.ndarray:
        """Kx3 joints of `row` in crop px (v kept; unlabelled joints at 0, 0), swapped when flipped."""
        joints = self.table.joints[row].astype(np.float64)
        joints[:, :2] = np.where(joints[:, 2:3] > 0, warp_points(joints[:, :2], matrix), 0.0)
        return joints[self._perm] if flip else joints

    def instance_meta(self, i: int) -> dict[str, Any]:
        """The evaluation meta of instance `i` (no image decoded)."""
        t = self.table
        matrix = get_affine(self.center[i], self.scale[i], self.input_size)
        return {
            "center": self.center[i].copy(), "scale": self.scale[i].copy(),
            "image_id": int(t.image_id[i]), "score": float(t.score[i]), "area": float(t.area[i]),
            "index": int(t.index[i]), "joints": self.crop_joints(i, matrix, False).astype(np.float32),
        }

    def _image(self, i: int) -> tuple[int, np.ndarray | None]:
        """(row, decoded image): a failed decode is recorded and, in training, the next row used."""
        n = len(self)
        for step in range(n):
            row = (i + step) % n
            path = self.table.image_paths[self.table.image_index[row]]
            img = None if path in self._bad_images else read_image(path)
            if img is not None:
                return row, img
            if path not in self._bad_images:
                self._bad_images.add(path)
                warnings.warn(f"{path}: cannot decode the image, skipped "
                              f"({len(self._bad_images)} unreadable image(s) so far)", DataSkipWarning, stacklevel=3)
            if self.with_meta:
                return row, None
        raise RuntimeError(f"{self.ann_path}: no image of this split can be decoded")

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        epoch, i = (int(key[0]), int(key[1])) if isinstance(key, tuple) else (0, int(key))
        row, img = self._image(i)
        height, width = self.input_size
        labelled = bool(self.labelled[row])
        center, scale, flip = self.center[row], self.scale[row], False
        if self.augment is not None:
            # Half-body reads keypoints, so only instances with location labels get it.
            joints_for_aug = self.table.joints[row] if labelled else None
            rng = np.random.default_rng((self.seed, epoch, i))
            center, scale, flip = sample_crop(center, scale, self.aspect, self.augment, joints_for_aug, rng=rng)
        matrix = get_affine(center, scale, self.input_size)
        if flip:
            matrix = flip_affine(matrix, width)
        if img is None:
            crop = np.zeros((height, width, 3), np.uint8)
        else:
            crop = cv2.warpAffine(img, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        joints = self.crop_joints(row, matrix, flip)
        in_crop = visible_in_crop(joints, self.input_size)
        labels = image_labels(joints, self.input_size, self.label_rule)
        sample: dict[str, Any] = {"image": to_tensor(crop), "labels": torch.from_numpy(labels)}
        if labelled:
            heatmaps = gaussian_heatmaps(joints, in_crop, self.input_size, self.heatmap_sigma)
            sample["heatmaps"] = torch.from_numpy(heatmaps)
            sample["target_weight"] = torch.from_numpy(in_crop.copy())
        if self.with_meta:
            t = self.table
            sample["meta"] = {
                "center": np.asarray(center, np.float64), "scale": np.asarray(scale, np.float64),
                "image_id": int(t.image_id[row]), "score": float(t.score[row]), "area": float(t.area[row]),
                "index": int(t.index[row]), "joints": joints.astype(np.float32),
            }
        return sample
