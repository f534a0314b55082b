"""Table 3 of the paper: the CrowdPose test set, location-free Baseline and Ours-LOFR."""
from harness.tables.declaration import Column, PaperNumbers, Table
from harness.tables.parts import BASELINE, LOFR, published

UNREADABLE = ("column 2 (header unreadable)", "column 3 (header unreadable)")
PAPER_COLUMNS = (Column("AP", "AP"), Column("AP .5", "AP .5"), Column("AP .75", "AP .75"), Column("AP_M", "AP(M)"),
                 Column("AP_H", "AP(H)"), Column(UNREADABLE[0], None), Column(UNREADABLE[1], None))

TABLE3 = Table(
    key="table3",
    title="Table 3: CrowdPose",
    description="Table 3: CrowdPose",
    columns={"crowdpose": (Column("AP", "AP"), Column("AP .5", "AP .5"), Column("AP .75", "AP .75"),
                           Column("AP(E)", "AP(E)"), Column("AP(M)", "AP(M)"), Column("AP(H)", "AP(H)"))},
    # Only the location-free rows are transcribed (not the bottom-up and top-down references).
    paper=PaperNumbers(
        caption="Table 3: CrowdPose test set, location-free rows",
        split="CrowdPose test",
        split_key="test",
        match={"dataset.kind": "crowdpose", "supervision.regime": "location_free"},
        columns=PAPER_COLUMNS,
        # AP .5 and AP .75 are unknown: their headers cannot be read (see the note).
        rows=(published("Baseline", BASELINE, PAPER_COLUMNS, (21.5, None, None, 23.4, 16.6, 39.1, 28.2)),
              published("Ours-LOFR", LOFR, PAPER_COLUMNS, (42.5, None, None, 43.8, 34.1, 58.7, 48.6))),
        note="The source text's header is garbled (\"AP | AP AP50 AP | (blank) | AP_M | AP_H\"). The first column "
             "is AP (the text: \"mAP 42.5%\") and the last two are AP_M and AP_H (the text: \"AP (hard) ... "
             "34.1%\"). The 2nd and 3rd columns' labels cannot be read: their values are kept under \"column 2\" / "
             "\"column 3\" and AP .5 / AP .75 are left unknown. (The text's \"+20.0%\" for mAP does not equal "
             "42.5 - 21.5 = 21.0; the table's numbers are transcribed as printed.)",
    ),
    paper_for_kinds=("crowdpose",),
)
