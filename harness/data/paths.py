"""Where a split's annotation file and image folder are: `split_files(dataset, split)`.

A `DatasetConfig` path is absolute or relative to its `root`; an empty one falls back to the
dataset's standard layout (`SPECS[kind].layout`, e.g. COCO's `annotations/person_keypoints_val2017.json`).
A missing root, annotation file or image folder is the user's to fix: `UserError`, one line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.data.specs import SPECS
from harness.errors import UserError

if TYPE_CHECKING:
    from harness.config import DatasetConfig

SPLITS = ("train", "val")


@dataclass(frozen=True)
class SplitFiles:
    """The files of one split: its annotation json, its image folder, optional extras (val)."""

    ann: Path
    images: Path
    detections: Path | None = None  # COCO/CrowdPose: person detections (results json) for val crops
    head_boxes: Path | None = None  # MPII: mpii_gt_val.mat


def _under(root: Path, value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def _must_exist(path: Path, what: str) -> Path:
    if not path.exists():
        raise UserError(f"{path}: not found ({what})")
    return path


def split_files(dataset: DatasetConfig, split: str) -> SplitFiles:
    """Resolve and check the paths of `split` ('train' or 'val') of `dataset`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    layout = SPECS[dataset.kind].layout
    if not dataset.root:
        raise UserError(f"dataset {dataset.name!r}: no root folder given (dataset.root)")
    root = _must_exist(Path(dataset.root).expanduser(), f"root of dataset {dataset.name!r}")
    ann = _under(root, getattr(dataset, f"{split}_ann") or getattr(layout, f"{split}_ann"))
    images = _under(root, getattr(dataset, f"{split}_images") or getattr(layout, f"{split}_images"))
    _must_exist(ann, f"{split} annotation file of dataset {dataset.name!r}")
    _must_exist(images, f"{split} image folder of dataset {dataset.name!r}")
    detections = head_boxes = None
    if split == "val":
        detections = _under(root, dataset.detections)
        if detections is not None:
            _must_exist(detections, f"person detections of dataset {dataset.name!r}")
        head_boxes = _under(root, dataset.head_boxes)
        if head_boxes is not None:
            _must_exist(head_boxes, f"head boxes of dataset {dataset.name!r}")
    return SplitFiles(ann=ann, images=images, detections=detections, head_boxes=head_boxes)
