"""The factorial study's effects as tables: main effects, two-way interactions, conditional effects.

Cells are the study's rows keyed by the declared modules' switches (`harness.paper.modules`); each
cell's values are the primary metric of its completed seeds. With fewer than two seeds in some cell the effects are point
estimates (the page says so).
"""
from __future__ import annotations

import itertools

from harness.report.cells import Cell, Format, TableView
from harness.paper.modules import modules
from harness.report.factorial import Effect, FactorialResult, cells_of, factorial_effects
from harness.report.rows import Row


def factorial_cells(rows: list[Row], primary: str) -> tuple[dict[tuple[bool, ...], list[float]], list[str]]:
    """{switches: [primary metric per completed seed]} and the problems that prevent the analysis."""
    cells: dict[tuple[bool, ...], list[float]] = {}
    owner: dict[tuple[bool, ...], int] = {}
    problems = []
    for row in rows:
        key = row.switches()
        if key in owner:
            problems.append(f"rows #{owner[key]} and #{row.number} have the same switches "
                            "(they differ in another setting), so the cells are ambiguous")
            continue
        owner[key] = row.number
        cells[key] = [t.metrics[primary] for t in row.completed if t.metrics.get(primary) is not None]
    factors = [m.name for m in modules()]
    every = cells_of(len(factors))
    empty = [c for c in every if not cells.get(c)]
    if empty:
        names = ["+".join(f for f, on in zip(factors, c) if on) or "none" for c in empty]
        problems.append(f"{len(empty)} of the {len(every)} cells have no completed trial "
                        f"(modules on: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''})")
    return cells, problems


def _effect_cell(e: Effect, fmt: Format) -> Cell:
    if e.lo is None:
        return Cell(fmt.signed(e.estimate), cls="num")
    text = f"{fmt.signed(e.estimate)} [{fmt.signed(e.lo)}, {fmt.signed(e.hi)}]"
    if e.excludes_zero:
        return Cell(text + " *", cls="num sig", title="the 95 % interval excludes zero")
    return Cell(text, cls="num")


def factorial_tables(result: FactorialResult, primary: str, fmt: Format) -> list[TableView]:
    unit = f"{primary}, percentage points"
    main = TableView(f"Main effects on {primary}", ["module", f"effect ({unit})"],
                     [[Cell(e.name, cls="label"), _effect_cell(e, fmt)] for e in result.main], css="effects")
    by_pair = {(c.factor, c.given): c for c in result.conditionals}
    body = []
    factors = [e.name for e in result.main]
    for (i, j), inter in zip(itertools.combinations(range(len(factors)), 2), result.interactions):
        a, b = factors[i], factors[j]
        body.append([Cell(inter.name, cls="label"), _effect_cell(inter, fmt),
                     _effect_cell(by_pair[(a, b)].when_off, fmt), _effect_cell(by_pair[(a, b)].when_on, fmt),
                     _effect_cell(by_pair[(b, a)].when_off, fmt), _effect_cell(by_pair[(b, a)].when_on, fmt)])
    inter = TableView(f"Two-way interactions on {primary}",
                      ["A × B", "interaction", "A with B off", "A with B on", "B with A off", "B with A on"],
                      body, css="effects")
    lo, hi = result.replicates
    if result.df:
        inter.notes.append(f"95 % t intervals from the within-cell spread over seeds ({lo}–{hi} seeds per cell, "
                           f"{result.df} degrees of freedom); * marks an interval that excludes zero.")
    else:
        inter.notes.append(f"Point estimates: intervals need at least 2 seeds in every cell (fewest: {lo}).")
    n = len(factors)
    inter.notes.append(f"Main effect = mean over the {2 ** (n - 1)} cells with the module on − mean over the "
                       f"{2 ** (n - 1)} with it off. Interaction A × B = half of (effect of A with B on − effect of A "
                       f"with B off), the standard 2^{n} contrast; the conditional effects are each a mean over "
                       f"{2 ** (n - 2)} cells of the other modules.")
    return [main, inter]


def analyse(rows: list[Row], primary: str) -> tuple[FactorialResult | None, list[str]]:
    cells, problems = factorial_cells(rows, primary)
    if problems:
        return None, problems
    return factorial_effects(cells, tuple(m.name for m in modules())), []
