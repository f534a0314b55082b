"""The annotation file formats a spec declares (`KeypointSpec.files`): how a split is read into
instances, and how a synthetic twin writes its annotation files.

A declaration holds plain values; the reader and the writer it names are imported when called,
because `harness.data.specs` is read by `harness plan` and `harness report`, which load neither
numpy-heavy readers nor cv2.

- `CocoJson`: COCO-format keypoint files (COCO, CrowdPose, any dataset in that format);
- `MpiiJson`: mmpose's MPII json, with the head boxes of `mpii_gt_val.mat`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from harness.data.instances import InstanceTable
    from harness.data.paths import SplitFiles
    from harness.data.skips import SkipCounter
    from harness.data.specs.base import KeypointSpec
    from harness.data.synth.formats import TwinWriter


class AnnotationFormat(Protocol):
    """What the harness asks of a dataset's file format."""

    def load_split(self, spec: KeypointSpec, files: SplitFiles,
                   skips: SkipCounter) -> tuple[InstanceTable, dict[str, Any]]:
        """The instances of one split and what the evaluator needs beside them:
        {"ann_path", "head_boxes" (or None), "detections" (or None)}."""
        ...

    def twin_writer(self, spec: KeypointSpec) -> TwinWriter:
        """A fresh writer of one split of a synthetic twin's annotations in this format."""
        ...


@dataclass(frozen=True)
class CocoJson:
    """COCO-format keypoint files: {images, annotations, categories}, people of category 1 with
    K x (x, y, v) keypoints; validation crops may come from person detections
    (`DatasetConfig.detections`). The flags say what the dataset's own files carry beyond that, so
    that its twin carries it too."""

    header: bool = False  # COCO's `info` and `licenses` entries
    area: bool = False  # each person's `area` and outline `segmentation` (pycocotools' area ranges read the area)
    crowd_index: bool = False  # each image's `crowdIndex` (CrowdPose's evaluation splits by it)

    def load_split(self, spec: KeypointSpec, files: SplitFiles,
                   skips: SkipCounter) -> tuple[InstanceTable, dict[str, Any]]:
        from harness.data.coco_json import load_split  # numpy and image checks: not for `harness plan`

        return load_split(files, spec, skips)

    def twin_writer(self, spec: KeypointSpec) -> TwinWriter:
        from harness.data.synth.formats import CocoJsonWriter  # the twin code loads cv2

        return CocoJsonWriter(spec, self)


@dataclass(frozen=True)
class MpiiJson:
    """mmpose's MPII json: a list of {image, center, scale, joints K x 2, joints_vis K}; the
    validation split's head boxes come from `mpii_gt_val.mat` (`DatasetConfig.head_boxes`)."""

    def load_split(self, spec: KeypointSpec, files: SplitFiles,
                   skips: SkipCounter) -> tuple[InstanceTable, dict[str, Any]]:
        from harness.data.mpii_json import load_split  # numpy and scipy.io: not for `harness plan`

        return load_split(files, spec, skips)

    def twin_writer(self, spec: KeypointSpec) -> TwinWriter:
        from harness.data.synth.formats import MpiiJsonWriter  # the twin code loads cv2

        return MpiiJsonWriter(spec)
