"""Annotation files of a twin in each dataset's real layout (COCO, CrowdPose, mmpose's MPII).

Joints map from the generic skeleton (`body.JOINTS`) by the spec's joint names. Unlabelled joints
are written as the datasets write them: (0, 0, 0) in COCO/CrowdPose, (-1, -1) with joints_vis 0
in MPII. CrowdPose's `crowdIndex` is computed with its definition: the mean over the image's people
of (labelled joints of other people inside the person's box) / (the person's labelled joints).
Numbers are rounded to 0.01 px and nothing time-dependent is written, so files are reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.data.boxes import MPII_PIXEL_STD
from harness.data.specs import KeypointSpec
from harness.data.synth.body import GENERIC_NAME, J
from harness.data.synth.scene import Person


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


@dataclass
class AnnotationWriter:
    """Collects images and people of one split and returns the json object of its format."""

    spec: KeypointSpec
    images: list[dict] = field(default_factory=list)
    annotations: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index = joint_map(self.spec)

    def joints(self, person: Person) -> np.ndarray:
        kp = np.concatenate([person.xy[self.index], person.v[self.index, None]], axis=1)
        kp[kp[:, 2] == 0] = 0.0
        return kp

    def add(self, image_id: int, file_name: str, size: tuple[int, int], people: list[Person]) -> int:
        """Record one image; returns how many of its people were annotated (those with a labelled joint)."""
        height, width = size
        kept = [(p, self.joints(p)) for p in people if (p.v[self.index] > 0).any() and min(p.bbox[2:]) >= 2]
        if self.spec.name == "mpii":
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
            return len(kept)
        image = {"id": image_id, "file_name": file_name, "height": height, "width": width}
        if self.spec.name == "crowdpose":
            image["crowdIndex"] = round(crowd_index([(kp, p.bbox) for p, kp in kept]), 2)
        self.images.append(image)
        for person, kp in kept:
            x, y, w, h = (_r(v) for v in person.bbox)
            ann = {"id": len(self.annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                   "num_keypoints": int((kp[:, 2] > 0).sum()),
                   "keypoints": [_r(v) if i % 3 < 2 else int(v) for i, v in enumerate(kp.ravel())],
                   "bbox": [x, y, w, h]}
            if self.spec.name == "coco":
                ann["area"] = _r(person.area)
                ann["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
            self.annotations.append(ann)
        return len(kept)

    def document(self):
        """The json object: a list (MPII) or {images, annotations, categories}."""
        if self.spec.name == "mpii":
            return self.annotations
        category = {"supercategory": "person", "id": 1, "name": "person", "keypoints": list(self.spec.joints),
                    "skeleton": [[a + 1, b + 1] for a, b in self.spec.skeleton]}
        doc = {"images": self.images, "annotations": self.annotations, "categories": [category]}
        if self.spec.name == "coco":
            doc = {"info": {"description": "synthetic twin (harness synth)"}, "licenses": [], **doc}
        return doc
