"""Table 2 of the paper: PCKh@0.5 on the MPII test set, location-free Baseline and Ours-LOFR."""
from harness.data.specs import MPII
from harness.tables.declaration import Column, PaperNumbers, Table
from harness.tables.parts import BASELINE, LOFR, published

# The paper's column labels and our evaluator's group names (MPII's standard PCKh groups).
PAPER_COLUMNS = tuple(Column(label, group) for label, group in zip(
    ("Hea", "Sho", "Elb", "Wri", "Hip", "Kne", "Ank", "Total"), (*MPII.pckh_groups, "Mean")))

TABLE2 = Table(
    key="table2",
    title="Table 2: MPII PCKh@0.5",
    description="Table 2: MPII PCKh@0.5",
    columns={"mpii": tuple(Column(c.metric, c.metric) for c in PAPER_COLUMNS)},
    # Only the location-free rows are transcribed (not the supervised references).
    paper=PaperNumbers(
        caption="Table 2: PCKh@0.5 on the MPII test set, location-free rows",
        split="MPII test",
        split_key="test",
        match={"dataset.kind": "mpii", "supervision.regime": "location_free"},
        columns=PAPER_COLUMNS,
        rows=(published("Baseline", BASELINE, PAPER_COLUMNS, (53.5, 73.0, 33.8, 26.5, 15.7, 14.6, 7.1, 35.3)),
              published("Ours-LOFR", LOFR, PAPER_COLUMNS, (86.9, 79.8, 65.6, 54.1, 47.7, 46.2, 32.1, 61.8))),
    ),
    paper_for_kinds=("mpii",),
)
