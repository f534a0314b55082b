"""Table 4 of the paper: labelled fraction of location data (Sup-only vs Ours-WS), COCO and MPII val."""
from harness.tables.declaration import PRIMARY, Column, Comparison, LabelColumn, PaperNumbers, PaperRow, Table
from harness.tables.labels import (backbone_label, backbone_order, fraction_label, fraction_order,
                                   method_label, named_by)
from harness.paper.modules import switch_keys
from harness.tables.parts import BACKBONE

def _METHOD_KEYS() -> tuple[str, ...]:  # noqa: N802 (a declaration's keys, read when used)
    return switch_keys() + ("model.cls_losses", "supervision.regime")


FRACTIONS = (0.05, 0.1, 0.25, None)  # the paper's columns 5 %, 10 %, 25 %, ALL
BACKBONES = {"R50": "resnet50", "HR32": "hrnet_w32"}


def _rows(kind: str, method: str, back: str, values: tuple[float, ...]) -> tuple[PaperRow, ...]:
    """One published line of the paper's layout, one row per labelled fraction."""
    rows = []
    for fraction, value in zip(FRACTIONS, values):
        match = {"dataset.kind": kind, "model.backbone": BACKBONES[back]}
        if method == "Ours-WS" and fraction is None:
            match["supervision.regime"] = "full"  # ALL: every instance labelled
        else:
            match.update({"supervision.regime": "sup_only" if method == "Sup-only" else "semi",
                          "supervision.fraction": fraction})
        text = "ALL" if fraction is None else f"{100 * fraction:g}%"
        rows.append(PaperRow(f"{method} {back} {text}", match, {"value": value}))
    return tuple(rows)


TABLE4 = Table(
    key="table4",
    title="Table 4: labelled fraction",
    description="Table 4: labelled fraction (Sup-only vs Ours-WS)",
    labels=(LabelColumn("Method", method_label, _METHOD_KEYS), BACKBONE,
            LabelColumn("Labelled", fraction_label, ("supervision.fraction",))),
    order=lambda f: (f.get("supervision.regime") != "sup_only", backbone_order(f), fraction_order(f)),
    name=named_by(method_label, backbone_label, fraction_label),
    comparison=Comparison(vary=_METHOD_KEYS,
                          is_reference=lambda f: f.get("supervision.regime") == "sup_only",
                          label="Sup-only at the same labelled fraction (same backbone and dataset)"),
    columns={"coco": (Column("AP", "AP"),), "crowdpose": (Column("AP", "AP"),), "mpii": (Column("PCKh", "Mean"),)},
    # The paper prints the fractions as columns; each (method, backbone, fraction) cell is a row
    # here. SemiPose's rows are not transcribed.
    paper=PaperNumbers(
        caption="Table 4: validation sets of COCO and MPII, labelled fraction of location data",
        split="val",
        split_key="val",
        match={},
        columns=(Column("value", PRIMARY),),
        rows=(_rows("coco", "Sup-only", "R50", (50.3, 54.8, 60.8, 71.0))  # Sup-only [42]
              + _rows("coco", "Sup-only", "HR32", (53.8, 58.9, 64.6, 74.9))  # Sup-only [37]
              + _rows("coco", "Ours-WS", "R50", (60.9, 64.8, 70.6, 71.8))  # ALL printed "71.8(+0.8%)"
              + _rows("coco", "Ours-WS", "HR32", (64.6, 68.9, 74.0, 75.3))  # ALL printed "75.3 (+0.5%)"
              + _rows("mpii", "Sup-only", "R50", (64.0, 69.5, 77.5, 88.7))  # Sup-only [42]
              + _rows("mpii", "Ours-WS", "R50", (74.6, 79.8, 88.1, 89.3))),  # ALL printed "89.3(+0.6%)"
    ),
    sections=("labelled_fraction_pivot",),
)
