"""COCO-format keypoint files (COCO, CrowdPose, any dataset declared with `CocoJson`) -> `InstanceTable`.

Ground truth: person annotations (category 1) that are not crowd regions and carry at least one
labelled keypoint; boxes are clipped to the image as HRNet does. Detections (a results json of
person boxes with scores) give the validation crops of the detection-based protocol; their
instances carry no joints. Skipped items are counted in the `SkipCounter`. `load_split` is what
the spec's `CocoJson.load_split` runs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.data.annotations import bad, read_json
from harness.data.boxes import xywh_to_center_size
from harness.data.images import looks_like_image
from harness.data.instances import InstanceTable
from harness.data.paths import SplitFiles
from harness.data.skips import SkipCounter
from harness.data.specs import KeypointSpec

PERSON = 1


class CocoImages:
    """The `images` section: id -> (path, width, height), header-checked once per image."""

    def __init__(self, data: dict, ann_path: Path, image_dir: Path):
        if not isinstance(data, dict) or not isinstance(data.get("images"), list):
            raise bad(ann_path, "expected a COCO-style JSON object with an 'images' list")
        self.paths: list[str] = []
        self.slot: dict[int, int] = {}
        self.size: list[tuple[float, float]] = []
        for i, img in enumerate(data["images"]):
            try:
                image_id, name = int(img["id"]), str(img["file_name"])
            except (KeyError, TypeError, ValueError):
                raise bad(ann_path, f"images[{i}] lacks an integer 'id' or a 'file_name'") from None
            self.slot[image_id] = len(self.paths)
            self.paths.append(str(image_dir / name))
            self.size.append((float(img.get("width") or 0), float(img.get("height") or 0)))
        self._ok: dict[int, bool] = {}

    def readable(self, slot: int) -> bool:
        if slot not in self._ok:
            self._ok[slot] = looks_like_image(self.paths[slot])
        return self._ok[slot]


def clean_box(bbox, width: float, height: float) -> tuple[float, float, float, float] | None:
    """x, y, w, h clipped to the image (HRNet's rule); None when nothing is left."""
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return None
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = x1 + max(0.0, w - 1), y1 + max(0.0, h - 1)
    if width > 0 and height > 0:
        x2, y2 = min(width - 1, x2), min(height - 1, y2)
    if w <= 0 or h <= 0 or x2 < x1 or y2 < y1:
        return None
    return x1, y1, x2 - x1, y2 - y1


def load_split(files: SplitFiles, spec: KeypointSpec, skips: SkipCounter) -> tuple[InstanceTable, dict]:
    """The instances of a split -- the person detections as validation crops where the dataset
    names them, else the ground truth -- and {ann_path, head_boxes (None), detections}."""
    if files.detections is not None:
        table = load_detections(files.detections, files.ann, files.images, spec, skips)
    else:
        table = load_coco_gt(files.ann, files.images, spec, skips)
    return table, {"ann_path": files.ann, "head_boxes": None, "detections": files.detections}


def load_coco_gt(ann_path: Path, image_dir: Path, spec: KeypointSpec, skips: SkipCounter) -> InstanceTable:
    """The person instances of a COCO-format annotation file."""
    data = read_json(ann_path, "annotation file")
    images = CocoImages(data, ann_path, image_dir)
    anns = data.get("annotations")
    if not isinstance(anns, list):
        raise bad(ann_path, "'annotations' is missing or not a list")
    k = spec.num_joints
    rows = []
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict) or ann.get("category_id", PERSON) != PERSON:
            continue
        if ann.get("iscrowd", 0):
            skips.add("crowd regions")
            continue
        slot = images.slot.get(ann.get("image_id"))
        if slot is None:
            skips.add("annotations of unknown images")
            continue
        kp = ann.get("keypoints")
        if not isinstance(kp, list) or len(kp) != 3 * k:
            skips.add(f"annotations without {k} keypoints")
            continue
        joints = np.asarray(kp, dtype=np.float32).reshape(k, 3)
        if not (joints[:, 2] > 0).any():
            skips.add("annotations without keypoints")
            continue
        box = clean_box(ann.get("bbox"), *images.size[slot])
        if box is None:
            skips.add("annotations with an empty box")
            continue
        if not images.readable(slot):
            skips.add("instances on missing or unreadable images")
            continue
        cx, cy, w, h = xywh_to_center_size(*box)
        area = float(ann["area"]) if isinstance(ann.get("area"), (int, float)) else w * h
        rows.append((slot, int(ann["image_id"]), cx, cy, w, h, joints, area, 1.0, i))
    return InstanceTable.from_rows(images.paths, rows, k)


def load_detections(det_path: Path, ann_path: Path, image_dir: Path, spec: KeypointSpec,
                    skips: SkipCounter) -> InstanceTable:
    """Person detections (COCO results format) on the images of `ann_path`, as joint-less instances."""
    images = CocoImages(read_json(ann_path, "annotation file"), ann_path, image_dir)
    dets = read_json(det_path, "person detections")
    if not isinstance(dets, list):
        raise bad(det_path, "expected a list of detections (COCO results format)")
    k = spec.num_joints
    rows = []
    for i, det in enumerate(dets):
        if not isinstance(det, dict) or det.get("category_id", PERSON) != PERSON:
            continue
        slot = images.slot.get(det.get("image_id"))
        if slot is None:
            skips.add("detections on unknown images")
            continue
        box = clean_box(det.get("bbox"), *images.size[slot])
        if box is None:
            skips.add("detections with an empty box")
            continue
        if not images.readable(slot):
            skips.add("instances on missing or unreadable images")
            continue
        cx, cy, w, h = xywh_to_center_size(*box)
        score = float(det.get("score", 1.0))
        rows.append((slot, int(det["image_id"]), cx, cy, w, h, np.zeros((k, 3), np.float32), w * h, score, i))
    return InstanceTable.from_rows(images.paths, rows, k)
