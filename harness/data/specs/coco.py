"""COCO keypoints: 17 joints, pycocotools' OKS sigmas and AP, the skeleton of the COCO annotation
file, the COCO json layout, and the look of its synthetic twin."""
from harness.data.specs.base import DatasetLayout, KeypointSpec
from harness.data.specs.evaluators import OksAP
from harness.data.specs.formats import CocoJson
from harness.data.specs.twin import SceneStyle, TwinStyle

COCO = KeypointSpec(
    name="coco",
    title="COCO",
    joints=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    # The annotation file's 1-based skeleton, made 0-based.
    skeleton=(
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
        (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ),
    # pycocotools.cocoeval.Params.kpt_oks_sigmas, computed as it computes them (its array / 10.0):
    # the evaluator hands these to COCOeval, so they must equal its defaults bit for bit.
    sigmas=tuple(s / 10.0 for s in (
        .26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89,
    )),
    evaluator=OksAP(),
    files=CocoJson(header=True, area=True),
    # Image ids and names as COCO's (12-digit file names); val ids start at 10,000,001.
    twin=TwinStyle(
        scene=SceneStyle(size=(288, 384), people=(0.5, 0.3, 0.2), heights=(70.0, 380.0),
                         x_range=(-0.05, 1.05), y_range=(0.25, 1.0), occluder_prob=0.45),
        first_id=1, split_stride=10_000_000, digits=12,
    ),
    primary_metric="AP",
    location_metric="PCK@0.1",
    response_groups={
        "Ear": (3, 4), "Eye": (1, 2), "Nose": (0,), "Head": (0, 1, 2, 3, 4),
        "Sho": (5, 6), "Elb": (7, 8), "Wri": (9, 10), "Hip": (11, 12),
        "Kne": (13, 14), "Ank": (15, 16),
    },
    table_columns=(("AP", "AP"), ("AP .5", "AP .5"), ("AP .75", "AP .75"), ("AR", "AR")),
    # train2017's person instances with keypoints (the count that the top-down recipes train on).
    published_train_instances=149_813,
    layout=DatasetLayout(
        train_ann="annotations/person_keypoints_train2017.json",
        val_ann="annotations/person_keypoints_val2017.json",
        train_images="train2017", val_images="val2017",
    ),
)
