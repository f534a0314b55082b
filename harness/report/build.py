"""`build_report(results_dir, out_dir)`: the whole report, from files only.

Pages: index.html (the studies, the localisation ladder per study, the mean-pose references), one
study-<name>.html per study, cost.html, table7.html, style.css, and the
figures under figures/. Nothing in them depends on the time of the build, so the same results
give the same report. Figures and study pages of an earlier build that this build did not write
are removed (only files with the report's own names).
"""
from __future__ import annotations

from pathlib import Path

from harness.report.bootstrap import PerImageCache
from harness.report.cells import Cell, TableView, percent_format
from harness.report.ladder_view import index_ladder_table
from harness.report.loading import Reference, ResultsFolder, load_results
from harness.report.mean_pose import vs_mean_pose
from harness.report.notes import dataset_notes
from harness.report.pages import StudyPage, _counts, cost_table, study_page, table7_page
from harness.report.paper_tables import NOT_COMPARABLE
from harness.report.render import copy_static, environment, write_page
from harness.report.response_tables import TABLE7_TITLE
from harness.report.study_figures import FIG_DIR, FigureWriter
from harness.report.study_tables import location_metric, primary_metric


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no trials"


def _ladder_table(pages: list[StudyPage]) -> TableView:
    entries = [(Cell(page.name, cls="label", href=f"{page.filename}#{g.ladder_anchor or g.anchor}",
                     title=page.title), g.heading.removeprefix("Dataset "), g.ladder)
               for page in pages for g in page.groups]
    return index_ladder_table(entries)


def _above(folder: ResultsFolder, name: str, ref: Reference, metric: str | None, cache: PerImageCache,
           n: int) -> Cell:
    """How many completed trials judged against reference `name` are above it (each by its own interval)."""
    judged = [vs_mean_pose([t], ref, "responses", metric, cache, n) for t in folder.trials.values()
              if t.completed and t.reference_name == name]
    judged = [v for v in judged if v is not None]
    if not judged:
        return Cell("—", cls="num")
    without = sum(v.lo is None for v in judged)
    return Cell(f"{sum(v.above for v in judged)} of {len(judged)}", cls="num",
                sub=f"{without} by the point estimate (no CI)" if without else "")


def _index_tables(folder: ResultsFolder, pages: list[StudyPage], cache: PerImageCache,
                  bootstrap_n: int) -> tuple[TableView, TableView]:
    body = []
    for page in pages:
        c = page.counts
        body.append([Cell(page.title, cls="label", href=page.filename), Cell(page.name), Cell(page.table),
                     Cell(", ".join(g.heading.removeprefix("Dataset ") for g in page.groups)),
                     Cell(str(c["completed"]), cls="num"), Cell(str(c["failed"]), cls="num failed" if c["failed"] else "num"),
                     Cell(str(c["missing"] + c["unfinished"]), cls="num missing" if c["missing"] + c["unfinished"] else "num")])
    studies = TableView("", ["page", "study", "table", "datasets", "completed", "failed", "missing"], body,
                        css="index")
    ref_body = []
    fmt = percent_format(folder.scale)
    for name, ref in sorted(folder.references.items()):
        primary = primary_metric(ref.kind, [])
        located = location_metric(ref.kind, ref, [])
        cells = [Cell(ref.label), Cell(ref.kind), Cell(ref.split)]
        for metric in (primary, located):
            cells += [Cell(metric or "?"), Cell(fmt.value(ref.metrics.get(metric)) if metric else "—", cls="num")]
        ref_body.append(cells + [_above(folder, name, ref, located, cache, bootstrap_n)])
    refs = TableView("The training set's mean pose predicted in every validation crop",
                     ["dataset", "kind", "split", "primary metric", "value", "location metric", "value",
                      "completed trials above it"], ref_body, css="refs")
    refs.notes.append("A model whose location metric does not beat its dataset's value here has not learned to "
                      "localise: it is marked \"not above the mean pose\" in the study tables and trial lists. "
                      "The mark is decided by the 95 % paired bootstrap interval over validation images of the "
                      "model's location metric minus the mean pose's (not above: its lower bound is not above 0), "
                      "from the per-image counts beside each result (the point estimate where they are missing). "
                      "\"Completed trials above it\": each trial judged alone, by its own interval.")
    references = list(folder.references.values())
    for kind in sorted({ref.kind for ref in references}):
        refs.notes.extend(dataset_notes(kind, references))
    if not ref_body:
        refs.notes.append("No mean-pose reference (references/*.json) in the results folder.")
    return studies, refs


def _remove_stale(out_dir: Path, keep: set[str]) -> None:
    """Delete this report's own files (study pages, figures) that this build did not write."""
    for path in list(out_dir.glob("study-*.html")) + list((out_dir / FIG_DIR).glob("*.png")):
        rel = path.relative_to(out_dir).as_posix()
        if rel not in keep:
            path.unlink()


def build_report(results_dir: Path, out_dir: Path, bootstrap_n: int = 1000) -> Path:
    """Write the report of `results_dir` into `out_dir`; return the path of index.html.

    Raises `UserError` (one line naming the file) for a missing results folder or index.json and
    for any results file that cannot be read.
    """
    folder = load_results(Path(results_dir))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = FigureWriter(out_dir)
    cache = PerImageCache()
    pages = [study_page(folder, study, writer, cache, bootstrap_n) for study in folder.studies.values()]
    env = environment()
    common = {"matrix": folder.matrix, "scale": folder.scale}
    scale_note = "" if folder.scale == "full" else NOT_COMPARABLE.format(scale=folder.scale)
    written = {"index.html", "cost.html", "table7.html", "style.css"}
    for page in pages:
        counts = _counts_text(page.counts)
        write_page(env, "study.html", out_dir / page.filename, page=page, page_title=page.title,
                   counts_text=counts, **common)
        written.add(page.filename)
    studies, refs = _index_tables(folder, pages, cache, bootstrap_n)
    write_page(env, "index.html", out_dir / "index.html", page_title="Index", source=folder.source,
               n_trials=len(folder.trials), counts_text=_counts_text(_counts(list(folder.trials.values()))),
               scale_note=scale_note, studies=studies, ladder=_ladder_table(pages), references=refs,
               table7_title=TABLE7_TITLE, **common)
    cost, total = cost_table(folder)
    write_page(env, "cost.html", out_dir / "cost.html", page_title="Cost", cost=cost, total=total, **common)
    write_page(env, "table7.html", out_dir / "table7.html", page_title=TABLE7_TITLE, tables=table7_page(folder),
               scale_note=scale_note, **common)
    copy_static("style.css", out_dir)
    _remove_stale(out_dir, written | writer.written)
    return out_dir / "index.html"
