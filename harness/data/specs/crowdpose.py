"""CrowdPose: 14 joints (COCO's 12 limbs joints + top_head + neck), its own OKS sigmas, scored by
xtcocotools' crowd protocol (AP by crowd index); mmpose's json layout; a crowded twin."""
from harness.data.specs.base import DatasetLayout, KeypointSpec
from harness.data.specs.evaluators import OksAP
from harness.data.specs.formats import CocoJson
from harness.data.specs.twin import SceneStyle, TwinStyle

CROWDPOSE = KeypointSpec(
    name="crowdpose",
    title="CrowdPose",
    joints=(
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
        "top_head", "neck",
    ),
    flip_pairs=((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)),
    skeleton=(
        (12, 13), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5),
        (0, 6), (1, 7), (6, 7), (6, 8), (8, 10), (7, 9), (9, 11),
    ),
    sigmas=(
        0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107,
        0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079,
    ),
    evaluator=OksAP(crowd=True),
    files=CocoJson(crowd_index=True),
    # Image ids and names as CrowdPose's (unpadded, from 100000); val ids start at 1,100,000.
    twin=TwinStyle(
        scene=SceneStyle(size=(256, 320), people=(), heights=(110.0, 230.0),
                         x_range=(0.1, 0.9), y_range=(0.45, 0.8), occluder_prob=0.35, crowd=True),
        first_id=100_000, split_stride=1_000_000,
    ),
    primary_metric="AP",
    location_metric="PCK@0.1",
    response_groups={
        "Head": (12,), "Sho": (0, 1), "Elb": (2, 3), "Wri": (4, 5),
        "Hip": (6, 7), "Kne": (8, 9), "Ank": (10, 11),
    },
    table_columns=(("AP", "AP"), ("AP .5", "AP .5"), ("AP .75", "AP .75"), ("AR", "AR")),
    # trainval: the paper's 80K instances x 12K/20K images (approx.).
    published_train_instances=48_000,
    # mmpose's CrowdPose layout: trainval for training, the test split for evaluation.
    layout=DatasetLayout(
        train_ann="annotations/mmpose_crowdpose_trainval.json",
        val_ann="annotations/mmpose_crowdpose_test.json",
        train_images="images", val_images="images",
    ),
)
