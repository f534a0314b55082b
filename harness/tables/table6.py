"""Table 6 of the paper: encoder (D_En) and decoder (D_De) depth on COCO val2017."""
from harness.tables.declaration import Comparison, LabelColumn, PaperNumbers, PaperRow, Table
from harness.tables.parts import LOFR, published
from harness.tables.table5 import AP_AR

DEPTH = ("model.enc_layers", "model.dec_layers")


def _row(number: int, enc: int, dec: int, map_: float, mar: float) -> PaperRow:
    return published(f"{number} ({enc}/{dec})", {"model.enc_layers": enc, "model.dec_layers": dec}, AP_AR,
                     (map_, mar))


TABLE6 = Table(
    key="table6",
    title="Table 6: encoder/decoder depth",
    description="Table 6: encoder / decoder depth",
    labels=(LabelColumn("D_En", lambda f: str(f.get("model.enc_layers")), ("model.enc_layers",)),
            LabelColumn("D_De", lambda f: str(f.get("model.dec_layers")), ("model.dec_layers",))),
    order=lambda f: (f.get("model.enc_layers", 0), f.get("model.dec_layers", 0)),
    name=lambda f: f"En{f.get('model.enc_layers')}/De{f.get('model.dec_layers')}",
    comparison=Comparison(vary=DEPTH,
                          is_reference=lambda f: f.get("model.enc_layers") == 4 and f.get("model.dec_layers") == 6,
                          label="the paper's chosen depth (D_En 4, D_De 6, other settings equal)"),
    columns={"coco": AP_AR, "crowdpose": AP_AR},
    paper=PaperNumbers(
        caption="Table 6: encoder (D_En) and decoder (D_De) depth on COCO val2017",
        split="COCO val2017",
        split_key="val",
        match={"dataset.kind": "coco", "supervision.regime": "location_free", "model.backbone": "resnet50",
               "model.input_size": [256, 192], **LOFR},
        columns=AP_AR,
        rows=(_row(1, 2, 2, 50.3, 55.2), _row(2, 3, 3, 52.3, 57.8), _row(3, 4, 4, 53.7, 58.7),
              _row(4, 4, 6, 54.9, 60.6), _row(5, 6, 4, 54.4, 59.6), _row(6, 6, 6, 53.2, 58.4)),
    ),
)
