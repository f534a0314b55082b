"""The localisation ladder on a study page: its table, the error-category table and the figures.

- the ladder table, one line per row: each head's mAP against its chance level (and the gain),
  each read-out's location metric and its difference to the mean pose with the 95 % interval,
  the mean pose as the foot, and the row's first failing link (`harness.report.ladder`);
- the keypoint error categories of the paper's read-out per row, as a table and as stacked bars;
- the ladder's learning curves: each read-out's location metric and each head's mAP by epoch;
- on the index, per study and dataset: the rows that pass each link and the first link to fail.
"""
from __future__ import annotations

from harness.evaluation import diagnostics as diag
from harness.record import HEADS, READOUTS
from harness.report.cells import Cell, FigureView, Format, TableView
from harness.report.figures.ladder import plot_error_bars, plot_ladder_curves
from harness.report.ladder import CATEGORIES, CLASSIFIER_GAIN, DIAGNOSTICS, LINKS, LadderSummary, RowLadder
from harness.report.loading import Reference
from harness.report.mean_pose import vs_cell
from harness.report.rows import figure_key, figure_label
from harness.report.stats import Summary
from harness.report.study_figures import FigureWriter
from harness.tables.declaration import Table

NO_LADDER = ("No ladder recorded: these trials' metrics.json have no `classification` / `readouts` / `errors` "
             "(results from before the ladder was measured). Re-run them to see where localisation is lost.")
LINKS_NOTE = ("First link to fail, in the ladder's order: "
              + "; ".join(f"({link.number}) {link.name}: {link.test}" for link in LINKS)
              + ". ✓ holds, ✗ fails, ? undecided (not recorded, or no mean-pose reference). \"Above the mean "
              "pose\" is decided by the 95 % interval (its lower bound above 0); a model that does not beat the "
              "mean pose has not learned to localise. Rows trained with locations are marked \"given "
              "locations\": their links are shown but they are no evidence of location-free localisation.")


def _head_cell(s: dict[str, Summary], fmt: Format, is_link: bool) -> Cell:
    m, chance, gain = s["mAP"], s["chance_mAP"], s["gain"]
    if m.mean is None:
        return Cell("—", cls="num missing", title="not recorded")
    text = f"{fmt.value(m.mean)} / {fmt.value(chance.mean)}"
    title = (f"image-level visibility mAP / its chance level (the mean positive rate), mean over {m.n} seed(s); "
             "gain = (mAP − chance) / (1 − chance)")
    cls = "num"
    if is_link and gain.mean is not None:
        holds = gain.mean >= CLASSIFIER_GAIN
        cls += " sig" if holds else " warn"
        title += f"; link 1 {'holds' if holds else 'fails'}: gain {'≥' if holds else '<'} {CLASSIFIER_GAIN:g}"
    sub = "" if gain.mean is None else f"gain {gain.mean:.2f}".replace("-", "−")
    return Cell(text, sub=sub, cls=cls, title=title)


def _value_cell(s: Summary, fmt: Format) -> Cell:
    """The mean over seeds (the ± is in the results table; here it would only widen the ladder)."""
    if s.mean is None:
        return Cell("—", cls="num missing", title="not recorded")
    spread = "" if s.std is None else f" ± {fmt.value(s.std)}"
    return Cell(fmt.value(s.mean), cls="num", title=f"mean{spread} over {s.n} seed(s)")


def _marks(lad: RowLadder) -> str:
    marks = {True: "✓", False: "✗", None: "?"}
    return " ".join(f"{link.number}{marks[ok]}" for link, ok in zip(LINKS, lad.links))


def verdict_cell(lad: RowLadder) -> Cell:
    """The row's first failing link (or why there is none)."""
    if not lad.recorded:
        return Cell("no ladder recorded", cls="missing")
    if not lad.location_free:
        return Cell("given locations", sub=_marks(lad),
                    title="trained with keypoint locations: no evidence of location-free localisation")
    first = lad.first_fail
    if first is not None:
        link = LINKS[first - 1]
        why = ""
        if lad.links[2] is False and lad.diagnostics:  # results from before the diagnostics say nothing here
            why = "; link 3 flagged by " + (", ".join(lad.flags) if lad.flags else "no diagnostic")
        return Cell(f"{first}: {link.name}", sub=_marks(lad) + why, cls="warn", title=f"{link.test}: fails{why}")
    if None in lad.links:
        return Cell("undecided", sub=_marks(lad), title="no link fails, but some could not be decided")
    return Cell("none", sub=_marks(lad), cls="sig", title="every link holds")


def ladder_table(ladders: list[RowLadder], table: Table, metric: str, ref: Reference | None, fmt: Format,
                 caption: str, bootstrap_n: int) -> TableView:
    header = ["#", "row", "locations", "first link to fail"] + [f"{h} mAP / chance" for h in HEADS]
    for r in READOUTS:
        header += [f"{r} {metric}", f"{r} − mean pose [95% CI]"]
    body = []
    for lad in ladders:
        row = lad.row
        regime = str(row.flat.get("supervision.regime", "location_free"))
        cells = [Cell(str(row.number), cls="label"), Cell(table.name(row.flat), cls="label"),
                 Cell("free" if lad.location_free else f"given ({regime})", cls="label"), verdict_cell(lad)]
        cells += [_head_cell(lad.heads[h], fmt, h == "cnn") for h in HEADS]
        for r in READOUTS:
            cells += [_value_cell(lad.readouts[r], fmt), vs_cell(lad.against[r], fmt, f"{r} {metric}")]
        body.append(cells)
    foot = []
    ref_value = ref.metrics.get(metric) if ref is not None else None
    if ref_value is not None:
        cells = [Cell("mean pose", cls="label ref", colspan=3,
                      title="the training set's mean pose predicted in every validation crop"),
                 Cell(f"split: {ref.split}", cls="ref")] + [Cell("", cls="ref") for _ in HEADS]
        for _ in READOUTS:
            cells += [Cell(fmt.value(ref_value), cls="num ref"), Cell("", cls="ref")]
        foot.append(cells)
    notes = [LINKS_NOTE,
             "mAP: mean over joints of the average precision of the image-level visibility labels; chance: the "
             "mean positive rate of the scored joints. Read-outs: responses (the decoder's, the paper's output), "
             "cams (the CNN branch's class maps), product (responses times min-max scaled CAMs, beyond the "
             "paper), each decoded and scored like the paper's output.",
             f"− mean pose: the read-out's {metric} minus the mean pose's (percentage points, mean over the row's "
             f"seeds), with a 95 % paired bootstrap interval over validation images ({bootstrap_n} resamples, the "
             "same for the row and the mean pose); \"no CI\": the per-image counts are missing and the point "
             "estimate decides."]
    if ref_value is None:
        notes.append("No mean-pose reference with this metric: links 2 and 3 cannot be decided.")
    return TableView(caption, header, body, foot, css="ladder", notes=notes)


DIAGNOSTIC_HEADERS = {"attention_entropy": "attention entropy", "uniform_fraction": "uniform maps",
                      "prototype_cos": "prototype |cos|", "part_feature_cos": "part feature |cos|",
                      "response_cam_agreement": "peak on own CAM", "response_cam_agreement_shuffled": "… on another's",
                      "decoder_weight_norm": "decoder ‖θ‖"}


def diagnostics_table(ladders: list[RowLadder], table: Table) -> TableView | None:
    """Why link 3 fails, row by row: the decoder's diagnostics (means over seeds) and their flags."""
    rows = [lad for lad in ladders if lad.diagnostics]
    if not rows:
        return None
    body = []
    for lad in rows:
        cells = [Cell(str(lad.row.number), cls="label"), Cell(table.name(lad.row.flat), cls="label")]
        for key in DIAGNOSTICS:
            s = lad.diagnostics.get(key)
            if s is None or s.mean is None:
                cells.append(Cell("—", cls="num missing"))
                continue
            text = f"{s.mean:.3g}" if key == "decoder_weight_norm" else f"{s.mean:.2f}"
            cells.append(Cell(text, cls="num", title=f"mean over {s.n} seed(s)"))
        if not lad.location_free:
            verdict = Cell("given locations", cls="wrap")
        elif lad.links[2] is not False:
            verdict = Cell("link 3 holds" if lad.links[2] else "undecided", cls="wrap")
        else:
            verdict = Cell(", ".join(lad.flags) or "no diagnostic flags it", cls="wrap warn")
        body.append(cells + [verdict])
    view = TableView("Why link 3 fails: the decoder's diagnostics (validation, mean over seeds)",
                     ["#", "row"] + [DIAGNOSTIC_HEADERS[k] for k in DIAGNOSTICS] + ["link 3 fails with"],
                     body, css="diagnostics")
    view.notes.append(
        "Attention entropy: each response map's entropy over its memory positions / log L (1 = uniform), mean over "
        f"the joints visible in the crop; uniform maps: the share with 1 − H / log L ≤ {diag.UNIFORM_TOL:g}. "
        "|cos|: mean pairwise |cos| of the prototypes entering the decoder and of the part features. Peak on own "
        "CAM: the share of visible joints whose response peak lies within one CAM cell of the same joint's CAM "
        "peak; on another's: the same against the other joints' CAM peaks (chance). Decoder ‖θ‖: the norm of "
        f"every decoder weight (the literal weight decay shrinks it to ~0). Flags: collapsed attention (uniform "
        f"maps ≥ {diag.COLLAPSED_UNIFORM_FRACTION:g}), indistinct prototypes (prototype or part feature |cos| ≥ "
        f"{diag.INDISTINCT_COS:g}), responses not following the CAMs (peak on own CAM ≤ on another's + "
        f"{diag.FOLLOW_MARGIN:g}).")
    return view


def error_table(ladders: list[RowLadder], table: Table, fmt: Format, metric: str) -> TableView | None:
    rows = [lad for lad in ladders if lad.errors]
    if not rows:
        return None
    body = [[Cell(str(lad.row.number), cls="label"), Cell(table.name(lad.row.flat), cls="label")]
            + [Cell(fmt.value(lad.errors.get(c)), cls="num") for c in CATEGORIES] for lad in rows]
    view = TableView("Keypoint error categories of the paper's read-out (% of visible ground-truth joints, mean "
                     "over seeds)", ["#", "row"] + list(CATEGORIES), body, css="errors")
    view.notes.append(f"After Ronchi and Perona ([34]), with the location metric's threshold t: good (within t: "
                      f"exactly {metric}'s notion of correct), jitter (within 2t), inversion (within t of the same "
                      "person's other-side joint), swap (within t of another person's same or other-side joint), "
                      "miss; the first that applies.")
    return view


def ladder_figures(writer: FigureWriter, stem: str, ladders: list[RowLadder], table: Table, metric: str,
                   ref: Reference | None) -> list[FigureView]:
    figures = []
    bars = [(figure_label(lad.row, table), lad.errors) for lad in ladders]
    src = writer.once(f"{stem}-errors.png", lambda p: plot_error_bars(bars, CATEGORIES, p))
    if src:
        figures.append(FigureView(src, "Keypoint error categories of the paper's read-out per row (mean over "
                                       "seeds): good, jitter, inversion, swap, miss." + figure_key(table)))
    series = [(figure_label(lad.row, table), [t.curve for t in lad.row.completed if t.curve]) for lad in ladders]
    series = [(label, curves) for label, curves in series if curves]
    # the chance level is the validation labels' (the same for every head), shown as the rows' mean
    chance = [c for c in (lad.heads["cnn"]["chance_mAP"].mean for lad in ladders) if c is not None]
    mean_pose = ref.metrics.get(metric) if ref is not None else None
    src = writer.once(f"{stem}-ladder-curves.png", lambda p: plot_ladder_curves(
        series, metric, READOUTS, HEADS, mean_pose, sum(chance) / len(chance) if chance else None, p))
    if src:
        figures.append(FigureView(src, f"The ladder by epoch (mean over each row's seeds): each read-out's "
                                       f"{metric} with the mean pose (dotted), each head's mAP with the chance "
                                       "level (dotted)." + figure_key(table)))
    return figures


def _count_cell(passed: int, decided: int, rows: int) -> Cell:
    if not rows:
        return Cell("—", cls="num")
    return Cell(f"{passed} of {decided}", sub="" if decided == rows else f"{rows - decided} undecided",
                cls="num" + (" warn" if passed < decided else ""))


def index_ladder_table(entries: list[tuple[Cell, str, LadderSummary]]) -> TableView:
    """The index's ladder: per study and dataset (`entries`: (study cell, dataset, summary)), how many
    location-free rows pass each link and the first link to fail."""
    header = ["study", "dataset", "location-free rows"] + [f"{link.number}: {link.short}" for link in LINKS]
    header += ["first link to fail", "rows given locations"]
    body = []
    for study, dataset, s in entries:
        cells = [study, Cell(dataset), Cell(str(s.rows), cls="num")]
        cells += [_count_cell(s.passed[i], s.decided[i], s.rows) for i in range(len(LINKS))]
        recorded = s.rows or s.supervised
        cls = "warn" if s.first_fail is not None else "" if recorded else "missing"
        sub = f"{s.unrecorded} row(s) without a ladder" if s.unrecorded and recorded else ""
        cells.append(Cell(s.verdict(), sub=sub, cls=f"wrap {cls}".strip()))
        cells.append(Cell("" if not s.supervised else
                          f"{s.supervised}, given locations ({s.supervised_above} above the mean pose)"))
        body.append(cells)
    view = TableView("The localisation ladder: where each study loses localisation", header, body, css="index")
    view.notes.append(LINKS_NOTE)
    view.notes.append("Counts are rows (distinct configurations; a row's values are means over its seeds) whose "
                      "link holds, of those where it could be decided. The first link to fail is the first, in the "
                      "ladder's order, that fails in at least one location-free row; \"each row's first failure\" "
                      "says where each row's chain breaks.")
    return view
