"""The sections of a study page beyond its results table: a table's own, and those on every page.

A section reads one dataset group of a study (`GroupInput`) and returns a `SectionView` (tables,
banner notes, figures) or None. A section without a heading adds its tables under the results
table; one with a heading is a block of its own after them. A table declaration names its own
sections in `Table.sections` (keys of `SECTIONS`: Table 4's pivot, the factorial analysis, the readings' factorial of the
modules its rows switch);
`EVERY_STUDY` lists the sections of every study page (the paper's numbers beside ours, Table 7's
response statistics, the localisation ladder). Order: the sections without a heading, then the headed ones; in each, the
table's own first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from harness.record import READOUTS
from harness.report.bootstrap import PerImageCache
from harness.report.cells import FigureView, Format, TableView
from harness.report.factorial import factorial_effects
from harness.report.factorial_view import analyse, factorial_tables, sub_factorial, switched_effects_table
from harness.report.figures.effects import plot_effects
from harness.report.ladder import RowLadder
from harness.report.ladder_view import NO_LADDER, diagnostics_table, error_table, ladder_figures, ladder_table
from harness.report.loading import Reference
from harness.report.mean_pose import readout_value
from harness.report.paper import is_full_scale
from harness.report.paper_tables import NOT_COMPARABLE, comparison_table
from harness.report.response_tables import TABLE7_TITLE, response_table
from harness.report.rows import Row, short_label
from harness.report.study_figures import FigureWriter
from harness.report.study_tables import StudyTable, table4_pivot
from harness.tables.declaration import Table

@dataclass
class GroupInput:
    """One dataset group of a study page, as every section reads it (what its results table had)."""

    table: Table
    rows: list[Row]
    results: StudyTable
    reference: Reference | None  # the dataset's mean-pose reference
    cache: PerImageCache  # each trial's per-image results, for bootstrap intervals
    dataset: str
    scale: str
    fmt: Format
    rfmt: Format
    writer: FigureWriter
    stem: str  # the group's file-name stem for figures
    location: str | None = None  # the dataset's location metric (the ladder's read-outs are on it)
    ladder: list[RowLadder] = field(default_factory=list)  # each row's ladder (`harness.report.ladder`)
    bootstrap_n: int = 1000


@dataclass
class SectionView:
    tables: list[TableView] = field(default_factory=list)
    banners: list[str] = field(default_factory=list)
    figures: list[FigureView] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # a headed section's text under its heading


@dataclass(frozen=True)
class Section:
    heading: str  # "": its tables go under the results table
    build: Callable[[GroupInput], SectionView | None]


@dataclass
class BlockView:
    """A headed section as the page renders it."""

    heading: str
    tables: list[TableView]
    figures: list[FigureView]
    notes: list[str] = field(default_factory=list)


def _pivot(g: GroupInput) -> SectionView | None:
    st = g.results
    if not st.primary:
        return None
    tables = [table4_pivot(g.rows, st.summaries, st.primary, g.fmt,
                           f"The paper's layout: {st.primary} by method and labelled fraction")]
    # The same layout on the location metric where it differs (COCO's box PCK@0.1): at small
    # scale AP is 0 everywhere and only this pivot shows what the labelled fraction changes.
    if st.located and st.located != st.primary:
        tables.append(table4_pivot(g.rows, st.summaries, st.located, g.fmt, f"The same layout on {st.located}"))
    return SectionView(tables)


def _factorial(g: GroupInput) -> SectionView | None:
    primary = g.results.primary
    if not primary:
        return None
    result, problems = analyse(g.rows, primary)
    if result is None:
        return SectionView(banners=[f"Factorial analysis not possible: {p}." for p in problems])
    src = g.writer.once(f"{g.stem}-effects.png",
                        lambda p: plot_effects(result.main + result.interactions, primary, p))
    caption = "Main effects (blue) and two-way interactions (orange)" + (" with 95 % intervals." if result.df else ".")
    return SectionView(factorial_tables(result, primary, g.fmt), figures=[FigureView(src, caption)] if src else [])


def _paper(g: GroupInput) -> SectionView:
    """The paper's numbers beside the full-scale rows, or why they are not shown."""
    banners, tables = [], []
    if any(not is_full_scale(r.flat) for r in g.rows):
        banners.append(NOT_COMPARABLE.format(scale=g.rows[0].flat.get("scale", g.scale)))
    view, notes = comparison_table(g.table, g.rows, g.results.summaries, g.fmt)
    if view is not None:
        view.notes = notes
        tables.append(view)
    elif notes and any(is_full_scale(r.flat) for r in g.rows):
        banners.extend(notes)
    return SectionView(tables, banners)


def _responses(g: GroupInput) -> SectionView | None:
    view = response_table(g.rows, lambda r: short_label(r, g.table), g.rfmt, f"{TABLE7_TITLE} — {g.dataset}")
    return None if view is None else SectionView([view])


def _ladder(g: GroupInput) -> SectionView | None:
    """The localisation ladder: where localisation is lost, row by row (`harness.report.ladder`)."""
    if not g.ladder or g.location is None:
        return None
    if not any(lad.recorded for lad in g.ladder):
        return SectionView(notes=[NO_LADDER])
    tables = [ladder_table(g.ladder, g.table, g.location, g.reference, g.fmt,
                           f"Localisation ladder — {g.dataset}", g.bootstrap_n)]
    tables[0].anchor = f"{g.stem}-ladder"  # the index links here
    errors = error_table(g.ladder, g.table, g.fmt, g.location)
    why = diagnostics_table(g.ladder, g.table)
    tables += [view for view in (why, errors) if view is not None]
    return SectionView(tables, figures=ladder_figures(g.writer, g.stem, g.ladder, g.table, g.location, g.reference))


def _switched(g: GroupInput) -> SectionView | None:
    """The largest 2^k grid of switched modules among the rows (`sub_factorial`), per read-out on
    the location metric; nothing where the rows hold none."""
    found = sub_factorial(g.rows)
    if found is None or g.location is None:
        return None
    names, grid = found
    results = {}
    for readout in READOUTS:
        cells = {c: [v for t in row.completed if (v := readout_value(t, readout, g.location)) is not None]
                 for c, row in grid.items()}
        if all(cells.values()):
            results[readout] = factorial_effects(cells, names)
    if not results:
        return None
    return SectionView([switched_effects_table(names, grid, results, g.location, g.fmt)])


SECTIONS: dict[str, Section] = {
    "labelled_fraction_pivot": Section("", _pivot),
    "factorial_analysis": Section("Factorial analysis", _factorial),
    "switched_modules": Section("Factorial analysis of the switched modules", _switched),
}
EVERY_STUDY: tuple[Section, ...] = (Section("", _paper), Section("", _responses),
                                    Section("Localisation ladder", _ladder))


def build_sections(g: GroupInput) -> tuple[list[TableView], list[str], list[BlockView]]:
    """(tables under the results table, banner notes, headed blocks) of one dataset group."""
    ordered = [SECTIONS[name] for name in g.table.sections] + list(EVERY_STUDY)
    ordered = [s for s in ordered if not s.heading] + [s for s in ordered if s.heading]
    tables, banners, blocks = [], [], []
    for section in ordered:
        view = section.build(g)
        if view is None:
            continue
        banners += view.banners
        if not section.heading:
            tables += view.tables
        elif view.tables or view.figures or view.notes:
            blocks.append(BlockView(section.heading, view.tables, view.figures, view.notes))
    return tables, banners, blocks
