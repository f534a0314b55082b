"""The paper's published numbers beside the rows run at full scale, with a delta column.

Each comparison names the paper's split and this run's; a delta across different splits is
marked († and a tooltip). At smoke and synthetic scale nothing is set beside the paper: the
page says why, and the mean-pose reference is the yardstick instead.
"""
from __future__ import annotations

from harness.report.cells import Cell, Format, TableView
from harness.report.paper import is_full_scale, split_of
from harness.report.rows import Row, short_label
from harness.report.stats import Summary
from harness.tables import metric_name, paper_for
from harness.tables.declaration import PRIMARY, Table

NOT_COMPARABLE = ("This is a {scale}-scale run (synthetic twins, tiny models, few epochs): its numbers are NOT "
                  "comparable with the paper's published ones, which are therefore not shown. The mean-pose "
                  "reference row (the training set's mean pose predicted in every crop) is the yardstick: a "
                  "model that does not beat it has not learned to localise.")


def comparison_table(table: Table, rows: list[Row], summaries: dict[tuple[int, str], Summary],
                     fmt: Format) -> tuple[TableView | None, list[str]]:
    """(paper-vs-ours table or None, notes) for the full-scale rows of one dataset group."""
    full = [r for r in rows if is_full_scale(r.flat)]
    if not full:
        return None, []
    kind = rows[0].kind
    paper = paper_for(table, kind)
    if paper is None:
        return None, ["The paper has no published numbers for this study."]
    matched = [(r, paper.find(r.flat)) for r in full]
    matched = [(r, p) for r, p in matched if p is not None]
    notes = [f"Paper: {paper.caption}; evaluated on {paper.split}."]
    unmatched = [f"#{r.number}" for r in full if r not in [m for m, _ in matched]]
    if unmatched:
        notes.append(f"Rows without a counterpart in the paper: {', '.join(unmatched)}.")
    if not matched:
        return None, notes
    columns = [(c.header, metric_name(c.metric, kind)) for c in paper.columns]
    header = ["#", "row", "paper row", "this run's split"]
    for c, (label, metric) in zip(paper.columns, columns):
        shown = metric if c.metric == PRIMARY else label
        header += [f"{shown} paper", f"{shown} ours", "Δ"] if metric else [f"{shown} (paper only)"]
    body = []
    for row, prow in matched:
        ours_split = split_of(row.flat)
        same = paper.split_key is not None and ours_split == paper.split_key
        cells = [Cell(str(row.number), cls="label"), Cell(short_label(row, table), cls="label"),
                 Cell(prow.label + (" ‡" if prow.note else ""), title=prow.note, cls="label"),
                 Cell(ours_split, cls="" if same else "xsplit")]
        for label, metric in columns:
            pv = prow.values.get(label)
            paper_text = "unknown" if pv is None else f"{pv:.1f}"
            paper_cell = Cell(paper_text, cls="num paper" + (" missing" if pv is None else ""),
                              title=prow.note or ("not readable in the paper's text" if pv is None else ""))
            if not metric:
                cells.append(paper_cell)
                continue
            s = summaries.get((row.number, metric))
            ours = fmt.summary(s) if s is not None else Cell("—", cls="num missing")
            if pv is None or s is None or s.mean is None:
                delta = Cell("", cls="num")
            else:
                d = 100.0 * s.mean - pv
                text = ("+" if d >= 0 else "−") + f"{abs(d):.1f}"
                delta = (Cell(text, cls="num") if same else
                         Cell(text + " †", cls="num xsplit",
                              title=f"different splits: the paper's {paper.split} vs this run's {ours_split}"))
            cells += [paper_cell, ours, delta]
        body.append(cells)
    notes.append("Δ = ours − paper in percentage points; † marks a delta across different evaluation splits.")
    if paper.note:
        notes.append(paper.note)
    notes += [f"‡ {p.label}: {p.note}" for _, p in matched if p.note]
    return TableView(f"Beside the paper ({paper.caption})", header, body, css="paper"), notes
