"""MPII: 16 joints in the standard MPII order; scored by PCKh (no OKS sigmas); mmpose's json
layout with the head boxes of mpii_gt_val.mat; a twin of single, active people."""
from harness.data.specs.base import DatasetLayout, KeypointSpec
from harness.data.specs.evaluators import Pckh
from harness.data.specs.formats import MpiiJson
from harness.data.specs.twin import SceneStyle, TwinStyle

MPII = KeypointSpec(
    name="mpii",
    title="MPII",
    joints=(
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
        "pelvis", "thorax", "upper_neck", "head_top",
        "right_wrist", "right_elbow", "right_shoulder",
        "left_shoulder", "left_elbow", "left_wrist",
    ),
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    skeleton=(
        (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
        (7, 12), (12, 11), (11, 10), (7, 13), (13, 14), (14, 15),
    ),
    sigmas=None,
    # Without mpii_gt_val.mat a head size comes from head_top (9) and upper_neck (8); "Mean" leaves
    # out pelvis (6) and thorax (7), as the standard MPII evaluation does.
    evaluator=Pckh(head=(9, 8), mean_without=(6, 7)),
    files=MpiiJson(),
    # Image names as MPII's (9 digits); val ids start at 100,000,001.
    twin=TwinStyle(
        scene=SceneStyle(size=(256, 320), people=(0.75, 0.25), heights=(150.0, 300.0),
                         x_range=(0.2, 0.8), y_range=(0.45, 0.95), occluder_prob=0.6, activity=1.7),
        first_id=1, split_stride=100_000_000, digits=9,
    ),
    primary_metric="Mean",
    location_metric="Mean",
    response_groups={
        "Head": (9,), "Sho": (12, 13), "Elb": (11, 14), "Wri": (10, 15),
        "Hip": (2, 3), "Kne": (1, 4), "Ank": (0, 5),
    },
    # The standard MPII evaluation's groups; "Mean" excludes pelvis (6) and thorax (7).
    pckh_groups={
        "Head": (9,), "Shoulder": (12, 13), "Elbow": (11, 14), "Wrist": (10, 15),
        "Hip": (2, 3), "Knee": (1, 4), "Ankle": (0, 5),
    },
    table_columns=(("PCKh Mean", "Mean"), ("PCKh@0.1", "Mean@0.1")),
    # the standard train split (person instances).
    published_train_instances=22_246,
    # mmpose's MPII layout (json converted from the .mat release).
    layout=DatasetLayout(
        train_ann="annotations/mpii_train.json", val_ann="annotations/mpii_val.json",
        train_images="images", val_images="images",
    ),
    # Half-body augmentation (paper, Sec. 4.2, MPII only), HRNet's split: thorax, neck, head and
    # arms are the upper body; legs, hips and pelvis the lower.
    upper_body=(7, 8, 9, 10, 11, 12, 13, 14, 15),
)
