"""Every dataset's facts, one file per dataset (`coco.py`, `mpii.py`, `crowdpose.py`): its
keypoints, metric family, file format and synthetic twin (`base.KeypointSpec`).

`SPECS` is the only name -> spec lookup in the harness (a flat dict, no registry): a dataset is
added by one spec file and its line here, and nothing outside this package names a dataset.
Importing it stays light (no numpy, torch, cv2 or evaluation library): `harness plan`, `harness
report` and `harness.config` read it.
"""
from harness.data.specs.base import DatasetLayout, KeypointSpec
from harness.data.specs.coco import COCO
from harness.data.specs.crowdpose import CROWDPOSE
from harness.data.specs.evaluators import Evaluator, OksAP, Pckh
from harness.data.specs.formats import AnnotationFormat, CocoJson, MpiiJson
from harness.data.specs.mpii import MPII
from harness.data.specs.twin import SceneStyle, TwinStyle
from harness.errors import UserError

SPECS: dict[str, KeypointSpec] = {"coco": COCO, "mpii": MPII, "crowdpose": CROWDPOSE}


def spec_of(kind: str) -> KeypointSpec:
    """`SPECS[kind]`; an unknown kind is a `UserError` naming the known ones."""
    if kind not in SPECS:
        raise UserError(f"unknown dataset kind {kind!r} (expected one of {', '.join(SPECS)})")
    return SPECS[kind]


__all__ = ["AnnotationFormat", "CocoJson", "DatasetLayout", "Evaluator", "KeypointSpec", "MpiiJson", "OksAP", "Pckh",
           "SPECS", "SceneStyle", "TwinStyle", "COCO", "MPII", "CROWDPOSE", "spec_of"]
