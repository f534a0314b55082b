"""Table 1 of the paper: COCO test-dev 2017, location-free Baseline and Ours-LOFR by backbone and input size."""
from harness.tables.declaration import METHOD, Column, LabelColumn, PaperNumbers, Table
from harness.tables.labels import backbone_label, backbone_order, method_label, named_by, size_label, switch_order
from harness.tables.parts import BACKBONE, BASELINE, LOFR, published

COLUMNS = (Column("AP", "AP"), Column("AP .5", "AP .5"), Column("AP .75", "AP .75"), Column("AP (M)", "AP (M)"),
           Column("AP (L)", "AP (L)"))


def _row(label: str, switches: dict, backbone: str, size: list[int], values: tuple, note: str = ""):
    return published(label, {"model.backbone": backbone, "model.input_size": size, **switches}, COLUMNS, values, note)


TABLE1 = Table(
    key="table1",
    title="Table 1: COCO",
    description="Table 1: COCO, location-free, by backbone and input size",
    labels=(METHOD, BACKBONE, LabelColumn("Size", size_label, ("model.input_size",))),
    order=lambda f: (backbone_order(f), f.get("model.input_size") or (), switch_order(f)),
    name=named_by(method_label, backbone_label, size_label),
    columns={"coco": COLUMNS},
    # Only the location-free Baseline and Ours-LOFR rows are transcribed (not the supervised and
    # bottom-up references).
    paper=PaperNumbers(
        caption="Table 1: COCO test-dev 2017, location-free rows",
        split="COCO test-dev 2017",
        split_key="test-dev",
        match={"dataset.kind": "coco", "supervision.regime": "location_free", "model.enc_layers": 4,
               "model.dec_layers": 6},
        columns=COLUMNS,
        rows=(
            _row("Baseline R50 256×192", BASELINE, "resnet50", [256, 192], (34.0, 41.4, 36.2, 31.6, 36.2)),
            _row("Baseline R50 384×288", BASELINE, "resnet50", [384, 288], (35.1, 42.1, 37.2, 32.6, 37.3)),
            _row("Ours-LOFR R50 256×192", LOFR, "resnet50", [256, 192], (54.3, 61.0, 55.6, 52.6, 56.7)),
            _row("Ours-LOFR R50 384×288", LOFR, "resnet50", [384, 288], (55.4, 62.1, 56.7, 53.7, 57.9)),
            _row("Ours-LOFR HR32 256×192", LOFR, "hrnet_w32", [256, 192], (54.8, 61.8, 56.1, 53.2, 57.3)),
            _row("Ours-LOFR HR32 384×288", LOFR, "hrnet_w32", [384, 288], (55.9, 62.9, 55.3, 54.4, 58.4)),
            _row("Ours-LOFR HR48 256×192", LOFR, "hrnet_w48", [256, 192], (None, None, 56.7, 53.8, 57.8),
                 note="The source text of this row is garbled: its backbone, AP and AP .5 cells are empty. The "
                      "backbone is HR48 by its place between the HR32 rows and the HR48 384×288 row; AP and "
                      "AP .5 are unknown."),
            _row("Ours-LOFR HR48 384×288", LOFR, "hrnet_w48", [384, 288], (56.4, 63.4, 55.6, 54.8, 59.0)),
        ),
    ),
)
