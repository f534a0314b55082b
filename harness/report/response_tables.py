"""Table 7: the average normalised response around the joints, by joint group, per row.

Each trial's `response_stats` ({group: value in [0, 1]}) comes from the evaluation of its
validation set (harness/evaluation/response.py); a cell is mean ± std over seeds with n. At
full scale the paper's Table 7 row for the same dataset and method is set beneath ours.
"""
from __future__ import annotations

from harness.data.specs import SPECS
from harness.report.cells import Cell, Format, TableView
from harness.report.paper import is_full_scale
from harness.report.rows import Row
from harness.report.stats import summarize_rows
from harness.tables import TABLE7

TABLE7_TITLE = "Table 7: response statistics by joint group"


def response_groups(kind: str, rows: list[Row]) -> list[str]:
    if kind in SPECS and SPECS[kind].response_groups:
        return list(SPECS[kind].response_groups)
    return sorted({g for r in rows for t in r.completed for g in t.response_stats})


def response_table(rows: list[Row], label_of, fmt: Format, caption: str) -> TableView | None:
    """Rows with response statistics (None when no trial has any), with the paper's rows at full scale."""
    rows = [r for r in rows if any(t.response_stats for t in r.completed)]
    if not rows:
        return None
    groups = response_groups(rows[0].kind, rows)
    summaries = summarize_rows(rows, groups, lambda t, g: t.response_stats.get(g))
    paper = TABLE7
    paper_label = {c.metric: c.header for c in paper.columns}  # our group -> the paper's column label
    body = []
    compared = False
    for row in rows:
        body.append([Cell(label_of(row), cls="label")]
                    + [fmt.summary(summaries[(row.number, g)], len(row.completed)) for g in groups])
        prow = paper.find(row.flat) if is_full_scale(row.flat) else None
        if prow is None:
            continue
        compared = True
        values = [prow.values.get(paper_label.get(g, g)) for g in groups]
        body.append([Cell(f"paper: {prow.label}", cls="label paper")]
                    + [Cell("—" if v is None else f"{v:.2f}", cls="num paper") for v in values])
        deltas = []
        for g, v in zip(groups, values):
            mean = summaries[(row.number, g)].mean
            deltas.append(Cell("", cls="num") if v is None or mean is None else
                          Cell(("+" if mean - v >= 0 else "−") + f"{abs(mean - v):.2f} †", cls="num xsplit",
                               title=f"the paper does not state its split ({paper.split}); ours: validation"))
        body.append([Cell("Δ ours − paper", cls="label")] + deltas)
    notes = ["Values are normalised responses in [0, 1] (not percentages)."]
    if compared:
        notes.append(f"Paper rows: {paper.caption}. {paper.note} † the paper's split is {paper.split}.")
    return TableView(caption, ["row"] + groups, body, css="responses", notes=notes)
