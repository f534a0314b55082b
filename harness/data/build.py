"""`build_dataset`: a `DatasetConfig`, a split and a supervision regime -> `KeypointDataset`.

Supervision (paper, Sec. 3.5 and Table 4): `location_fraction` 0 is location-free (no sample
carries coordinates or heatmaps), 1 labels every instance, 0.05 / 0.1 / 0.25 a seeded subset;
`labelled_only` keeps just the labelled instances (Sup-only). `max_instances` takes a seeded
subset first (training: any instances; validation: whole images, so that an image is evaluated
with all of its people), and the labelled subset is drawn from what remains. `seed` also seeds
the augmentation (with each sample's epoch and index).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from harness.data.dataset import KeypointDataset
from harness.data.instances import InstanceTable
from harness.data.paths import split_files
from harness.data.skips import SkipCounter
from harness.data.specs import SPECS
from harness.data.subsets import labelled_mask, pick_images, pick_instances
from harness.data.transforms import CropAugment

if TYPE_CHECKING:
    from harness.config import DatasetConfig


def load_split(dataset: DatasetConfig, split: str) -> tuple[InstanceTable, dict]:
    """The instances of a split, read by the dataset's file format (`KeypointSpec.files`), and
    what the evaluator needs beside them (ann path, head boxes, detections).

    Skipped items are reported in one warning; the count is in `extras["skipped"]`.
    """
    spec = SPECS[dataset.kind]
    files = split_files(dataset, split)
    skips = SkipCounter(str(files.ann))
    table, extras = spec.files.load_split(spec, files, skips)
    skips.report()
    extras["skipped"] = skips.total
    return table, extras


def build_dataset(dataset: DatasetConfig, split: str, input_size: tuple[int, int], *, augment: bool,
                  location_fraction: float = 0.0, labelled_only: bool = False, seed: int = 0,
                  max_instances: int | None = None, heatmap_sigma: float = 2.0,
                  label_rule: str = "in_crop", crop_shift: float = 0.0) -> KeypointDataset:
    """Person crops of `split` ('train' | 'val') at `input_size` (H, W); see the module docstring.
    `label_rule`: which joints the image-level labels call present (`harness.data.targets.image_labels`);
    `crop_shift`: the augmentation's centre shift (`CropAugment.shift`; 0 = the paper's, off)."""
    spec = SPECS[dataset.kind]
    table, extras = load_split(dataset, split)
    if max_instances is not None and max_instances < len(table):
        rows = (pick_images(table.image_index, max_instances, seed) if split == "val"
                else pick_instances(len(table), max_instances, seed))
        table = table.take(rows)
    labelled = labelled_mask(len(table), location_fraction, seed)
    if extras["detections"] is not None:
        labelled[:] = False  # detection crops have no ground-truth joints to draw heatmaps from
    if labelled_only:
        table = table.take(np.flatnonzero(labelled))
        labelled = labelled[labelled]
    aug = CropAugment(half_body_joints=spec.upper_body, shift=crop_shift) if augment else None
    return KeypointDataset(
        table, spec, input_size, augment=aug, labelled=labelled, heatmap_sigma=heatmap_sigma,
        with_meta=split == "val", ann_path=extras["ann_path"], head_boxes=extras["head_boxes"],
        detections=extras["detections"], skipped=extras["skipped"], seed=seed, label_rule=label_rule)
