"""Annotation files of a twin in its dataset's real format: `CocoJsonWriter` (COCO format, with
what the spec's `CocoJson` says the dataset's files carry) and `MpiiJsonWriter` (mmpose's MPII).

Joints map from the generic skeleton (`body.JOINTS`) by the spec's joint names. Unlabelled joints
are written as the datasets write them: (0, 0, 0) in COCO format, (-1, -1) with joints_vis 0
in MPII. CrowdPose's `crowdIndex` is computed with its definition: the mean over the image's people
of (labelled joints of other people inside the person's box) / (the person's labelled joints).
Numbers are rounded to 0.01 px and nothing time-dependent is written, so files are reproducible.
A spec's `files.twin_writer(spec)` gives the writer of one split.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from harness.data.boxes import MPII_PIXEL_STD
from harness.data.specs import CocoJson, KeypointSpec
from harness.data.synth.body import GENERIC_NAME, J
from harness.data.synth.scene import Person


class TwinWriter(Protocol):
    """Collects the images and people of one split; `document()` is its annotation file's json."""

    complete: int  # annotations with every joint labelled

    def add(self, image_id: int, file_name: str, size: tuple[int, int], people: list[Person]) -> int:
        """Record one image; returns how many of its people were annotated (those with a labelled joint)."""
        ...

    def document(self) -> Any:
        ...


def joint_map(spec: KeypointSpec) -> np.ndarray:
    """Index of each spec joint in the generic skeleton."""
    return np.array([J[GENERIC_NAME.get(name, name)] for name in spec.joints])


def _r(x: float) -> float:
    return round(float(x), 2)


def crowd_index(people: list[tuple[np.ndarray, tuple[float, float, float, float]]]) -> float:
    """CrowdPose's crowd index of one image from (K x 3 joints, x y w h box) per person."""
    ratios = []
    for a, (joints, (x, y, w, h)) in enumerate(people):
        own = int((joints[:, 2] > 0).sum())
        if own == 0:
            continue
        others = 0
        for b, (other, _) in enumerate(people):
            if b == a:
                continue
            lab = other[other[:, 2] > 0]
            others += int(((lab[:, 0] >= x) & (lab[:, 0] <= x + w) & (lab[:, 1] >= y) & (lab[:, 1] <= y + h)).sum())
        ratios.append(others / own)
    return float(np.mean(ratios)) if ratios else 0.0


def _annotated(spec: KeypointSpec, index: np.ndarray, people: list[Person]) -> list[tuple[Person, np.ndarray]]:
    """The people with a labelled joint of the spec and a box of at least 2 px, with their K x 3 joints."""
    out = []
    for p in people:
        if (p.v[index] > 0).any() and min(p.bbox[2:]) >= 2:
            kp = np.concatenate([p.xy[index], p.v[index, None]], axis=1)
            kp[kp[:, 2] == 0] = 0.0
            out.append((p, kp))
    return out


@dataclass
class CocoJsonWriter:
    """One split in COCO format: {images, annotations, categories}, plus what `fmt` says the
    dataset's own files carry (COCO's info/licenses, areas and polygons; CrowdPose's crowdIndex)."""

    spec: KeypointSpec
    fmt: CocoJson
    images: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    complete: int = 0

    def __post_init__(self) -> None:
        self.index = joint_map(self.spec)

    def add(self, image_id: int, file_name: str, size: tuple[int, int], people: list[Person]) -> int:
        height, width = size
        kept = _annotated(self.spec, self.index, people)
        image = {"id": image_id, "file_name": file_name, "height": height, "width": width}
        if self.fmt.crowd_index:
            image["crowdIndex"] = round(crowd_index([(kp, p.bbox) for p, kp in kept]), 2)
        self.images.append(image)
        for person, kp in kept:
            x, y, w, h = (_r(v) for v in person.bbox)
            ann = {"id": len(self.annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                   "num_keypoints": int((kp[:, 2] > 0).sum()),
                   "keypoints": [_r(v) if i % 3 < 2 else int(v) for i, v in enumerate(kp.ravel())],
                   "bbox": [x, y, w, h]}
            if self.fmt.area:
                ann["area"] = _r(person.area)
                ann["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
            self.annotations.append(ann)
            self.complete += ann["num_keypoints"] == self.spec.num_joints
        return len(kept)

    def document(self) -> dict[str, Any]:
        category = {"supercategory": "person", "id": 1, "name": "person", "keypoints": list(self.spec.joints),
                    "skeleton": [[a + 1, b + 1] for a, b in self.spec.skeleton]}
        doc = {"images": self.images, "annotations": self.annotations, "categories": [category]}
        if self.fmt.header:
            doc = {"info": {"description": "synthetic twin (harness synth)"}, "licenses": [], **doc}
        return doc


@dataclass
class MpiiJsonWriter:
    """One split in mmpose's MPII json: a list of {joints_vis, joints, image, scale, center}."""

    spec: KeypointSpec
    annotations: list[dict] = field(default_factory=list)
    complete: int = 0

    def __post_init__(self) -> None:
        self.index = joint_map(self.spec)

    def add(self, image_id: int, file_name: str, size: tuple[int, int], people: list[Person]) -> int:
        kept = _annotated(self.spec, self.index, people)
        for person, kp in kept:
            fx, fy, fw, fh = person.full_box
            scale = max(fw, fh) / MPII_PIXEL_STD
            vis = (kp[:, 2] > 0).astype(int)
            xy = np.where(vis[:, None] > 0, kp[:, :2], -1.0)
            self.annotations.append({
                "joints_vis": vis.tolist(), "joints": [[_r(x), _r(y)] for x, y in xy],
                "image": file_name, "scale": round(scale, 4),
                "center": [_r(fx + fw / 2), _r(fy + fh / 2 - 15.0 * scale)],
            })
            self.complete += bool(vis.all())
        return len(kept)

    def document(self) -> list[dict]:
        return self.annotations
