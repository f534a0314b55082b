"""Table 5 of the paper: the ablation of SPE, MS, RePPG and PDC on COCO val2017."""
from harness.tables.declaration import Column, PaperNumbers, PaperRow, Table
from harness.tables.parts import published, switch_columns, switch_match

AP_AR = (Column("mAP", "AP"), Column("mAR", "AR"))


def _row(label: str, on: tuple[str, ...], map_: float, mar: float) -> PaperRow:
    """`on`: the modules the row's check marks switch on (the others off)."""
    return published(label, switch_match(*on), AP_AR, (map_, mar))


TABLE5 = Table(
    key="table5",
    title="Table 5: ablation of SPE, MS, RePPG, PDC",
    description="Table 5: ablation of SPE, MS, RePPG, PDC",
    labels=switch_columns,
    columns={"coco": AP_AR, "crowdpose": AP_AR},
    paper=PaperNumbers(
        caption="Table 5: ablation of each module on COCO val2017",
        split="COCO val2017",
        split_key="val",
        match={"dataset.kind": "coco", "supervision.regime": "location_free", "model.backbone": "resnet50",
               "model.input_size": [256, 192], "model.enc_layers": 4, "model.dec_layers": 6},
        columns=AP_AR,
        rows=(
            _row("1 (Baseline)", (), 39.1, 44.5),
            _row("2 (+SPE)", ("SPE",), 42.5, 47.8),
            _row("3 (+MS)", ("MS",), 40.9, 46.7),
            _row("4 (+RePPG)", ("RePPG",), 44.9, 50.4),
            _row("5 (+PDC)", ("PDC",), 41.1, 46.5),
            _row("6 (+SPE +MS)", ("SPE", "MS"), 44.3, 49.4),
            _row("7 (+RePPG +PDC)", ("RePPG", "PDC"), 46.9, 52.6),
            _row("8 (all four)", ("SPE", "MS", "RePPG", "PDC"), 54.9, 60.6),
        ),
    ),
    paper_for_kinds=("coco",),
)
