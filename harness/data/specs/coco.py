"""COCO keypoints: 17 joints, pycocotools' OKS sigmas, the skeleton of the COCO annotation file."""
from harness.data.specs.base import DatasetLayout, KeypointSpec

COCO = KeypointSpec(
    name="coco",
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
    # pycocotools.cocoeval.Params.kpt_oks_sigmas
    sigmas=(
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
        0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
    ),
    metric="coco_ap",
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
