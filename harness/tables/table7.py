"""Table 7 of the paper: the average response around the joints, by joint group (published numbers only).

Table 7 is not a study of the matrix: the report sets the response statistics of every study's
rows (and of its own Table 7 page) beside these numbers. A column's metric is our response group
(`KeypointSpec.response_groups`).
"""
from harness.tables.declaration import Column, PaperNumbers, PaperRow
from harness.tables.parts import BASELINE, LOFR, published

COLUMNS = tuple(Column(label, group) for label, group in (
    ("Ear", "Ear"), ("Eye", "Eye"), ("Nose", "Nose"), ("Hea", "Head"), ("Sho", "Sho"), ("Elb", "Elb"),
    ("Wri", "Wri"), ("Hip", "Hip"), ("Kne", "Kne"), ("Ank", "Ank")))
KINDS = {"COCO": "coco", "MPII": "mpii", "CrowdPose": "crowdpose"}


def _row(method: str, dataset: str, values: tuple) -> PaperRow:
    """A dash in the paper (a joint group the dataset does not have) is None."""
    switches = BASELINE if method == "Baseline" else LOFR
    return published(f"{method} {dataset}", {"dataset.kind": KINDS[dataset], **switches}, COLUMNS, values)


TABLE7 = PaperNumbers(
    caption="Table 7: average response around the body joints (normalised to [0, 1])",
    split="not stated (the paper: 'on the whole dataset')",
    split_key=None,
    match={"supervision.regime": "location_free", "model.backbone": "resnet50"},
    columns=COLUMNS,
    rows=(
        _row("Baseline", "COCO", (0.21, 0.17, 0.32, 0.65, 0.36, 0.31, 0.21, 0.39, 0.21, 0.13)),
        _row("Baseline", "MPII", (None, None, None, 0.62, 0.52, 0.34, 0.24, 0.17, 0.16, 0.09)),
        _row("Baseline", "CrowdPose", (None, None, None, 0.61, 0.32, 0.28, 0.16, 0.35, 0.15, 0.11)),
        _row("Ours-LOFR", "COCO", (0.45, 0.38, 0.52, 0.86, 0.71, 0.53, 0.46, 0.61, 0.54, 0.42)),
        _row("Ours-LOFR", "MPII", (None, None, None, 0.85, 0.76, 0.64, 0.53, 0.48, 0.50, 0.35)),
        _row("Ours-LOFR", "CrowdPose", (None, None, None, 0.82, 0.62, 0.51, 0.42, 0.51, 0.42, 0.35)),
    ),
    note="A dash in the paper (a joint group the dataset does not have) is null here. The paper states neither the "
         "split nor the backbone of Table 7; it is set beside ResNet-50 rows (its main setting).",
)
