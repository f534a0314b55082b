"""Reading and checking the evaluators' input files (ground truth and predictions).

Every problem becomes a one-line `UserError` naming the file and what is wrong, before any
evaluation library sees the data (those libraries fail with bare asserts or KeyErrors).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from harness.errors import UserError


def read_json(path: str | Path, what: str) -> Any:
    """Parse a JSON file; missing or unparsable -> `UserError` naming `path`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {what} file not found")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read {what} file ({exc.strerror})") from None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_coco_gt(data: Any, path: str | Path, num_joints: int, crowd: bool) -> set[int]:
    """Check a COCO-style keypoint annotation file; return its image ids."""
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise UserError(f"{path}: '{key}' is missing or not a list")
    image_ids: set[int] = set()
    for i, img in enumerate(data["images"]):
        if not isinstance(img, dict) or not _is_int(img.get("id")):
            raise UserError(f"{path}: images[{i}] has no integer 'id'")
        if crowd and not _is_number(img.get("crowdIndex")):
            raise UserError(f"{path}: images[{i}] has no numeric 'crowdIndex' (CrowdPose)")
        image_ids.add(img["id"])
    needed = ("image_id", "category_id", "keypoints", "bbox", "iscrowd") + (
        ("num_keypoints",) if crowd else ("area",))
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict):
            raise UserError(f"{path}: annotations[{i}] is not an object")
        missing = [k for k in needed if k not in ann]
        if missing:
            raise UserError(f"{path}: annotations[{i}] lacks {', '.join(missing)}")
        kp = ann["keypoints"]
        if not isinstance(kp, list) or len(kp) != 3 * num_joints or not all(_is_number(v) for v in kp):
            raise UserError(f"{path}: annotations[{i}] keypoints must be {3 * num_joints} numbers "
                            f"({num_joints} joints x (x, y, v))")
        if ann["image_id"] not in image_ids:
            raise UserError(f"{path}: annotations[{i}] refers to unknown image_id {ann['image_id']!r}")
    return image_ids


def check_coco_predictions(preds: Any, path: str | Path, num_joints: int, image_ids: set[int]) -> None:
    """Check a COCO results list: image_id (known), category_id, keypoints (3K numbers), score."""
    if not isinstance(preds, list):
        raise UserError(f"{path}: expected a JSON list of results")
    for i, p in enumerate(preds):
        if not isinstance(p, dict):
            raise UserError(f"{path}: result {i} is not an object")
        missing = [k for k in ("image_id", "category_id", "keypoints", "score") if k not in p]
        if missing:
            raise UserError(f"{path}: result {i} lacks {', '.join(missing)}")
        kp = p["keypoints"]
        if not isinstance(kp, list) or len(kp) != 3 * num_joints or not all(_is_number(v) for v in kp):
            raise UserError(f"{path}: result {i} keypoints must be {3 * num_joints} finite numbers "
                            f"({num_joints} joints x (x, y, score))")
        if not _is_number(p["score"]):
            raise UserError(f"{path}: result {i} score must be a finite number")
        if p["image_id"] not in image_ids:
            raise UserError(f"{path}: result {i} has image_id {p['image_id']!r}, not in the ground truth")


def check_mpii_gt(data: Any, path: str | Path, num_joints: int) -> None:
    """Check an mmpose-layout MPII annotation list: {image, center, scale, joints, joints_vis}."""
    if not isinstance(data, list) or not data:
        raise UserError(f"{path}: expected a non-empty JSON list of MPII annotations")
    for i, a in enumerate(data):
        if not isinstance(a, dict):
            raise UserError(f"{path}: annotation {i} is not an object")
        joints, vis = a.get("joints"), a.get("joints_vis")
        if (not isinstance(joints, list) or len(joints) != num_joints
                or not all(isinstance(j, list) and len(j) == 2 and all(_is_number(v) for v in j) for j in joints)):
            raise UserError(f"{path}: annotation {i} 'joints' must be {num_joints} [x, y] pairs")
        if not isinstance(vis, list) or len(vis) != num_joints or not all(_is_number(v) for v in vis):
            raise UserError(f"{path}: annotation {i} 'joints_vis' must be {num_joints} numbers")


def check_mpii_predictions(preds: Any, path: str | Path, num_joints: int, num_annotations: int) -> None:
    """Check MPII predictions: a list of {"index": i, "keypoints": [[x, y, score] x K]}, i unique."""
    if not isinstance(preds, list):
        raise UserError(f"{path}: expected a JSON list of {{index, keypoints}} predictions")
    seen: set[int] = set()
    for i, p in enumerate(preds):
        if not isinstance(p, dict) or "index" not in p or "keypoints" not in p:
            raise UserError(f"{path}: prediction {i} must be an object with 'index' and 'keypoints'")
        idx, kp = p["index"], p["keypoints"]
        if not _is_int(idx) or not 0 <= idx < num_annotations:
            raise UserError(f"{path}: prediction {i} index {idx!r} is not an annotation index "
                            f"(0..{num_annotations - 1})")
        if idx in seen:
            raise UserError(f"{path}: prediction {i} repeats index {idx}")
        seen.add(idx)
        if (not isinstance(kp, list) or len(kp) != num_joints
                or not all(isinstance(j, list) and len(j) == 3 and all(_is_number(v) for v in j) for j in kp)):
            raise UserError(f"{path}: prediction {i} keypoints must be {num_joints} [x, y, score] triples")
