"""Keypoint facts of the three datasets of the paper, one file per dataset.

`SPECS` is the only name -> spec lookup in the harness (a flat dict, no registry).
"""
from harness.data.specs.base import DatasetLayout, KeypointSpec
from harness.data.specs.coco import COCO
from harness.data.specs.crowdpose import CROWDPOSE
from harness.data.specs.mpii import MPII

SPECS: dict[str, KeypointSpec] = {"coco": COCO, "mpii": MPII, "crowdpose": CROWDPOSE}

__all__ = ["DatasetLayout", "KeypointSpec", "SPECS", "COCO", "MPII", "CROWDPOSE"]
