"""The factorial study's effects as tables: main effects, two-way interactions, conditional effects.

Cells are the study's rows keyed by the declared modules' switches (`harness.paper.modules`); each
cell's values are the primary metric of its completed seeds. With fewer than two seeds in some cell the effects are point
estimates (the page says so).

A study that is not the 2^n factorial over every module may still hold a smaller one: rows that
differ only in k >= 2 switches (and those modules' own parameters), every other setting the same
(`sub_factorial`; the readings study's RePPG x PDC under one reading). Its effects are shown per
read-out on the location metric (`switched_effects_table`), where the primary metric (AP) is ~0
below the full scale.
"""
from __future__ import annotations

import itertools
from typing import Any

from harness.report.cells import Cell, Format, TableView
from harness.paper.modules import Module, modules
from harness.report.factorial import Effect, FactorialResult, cells_of, factorial_effects
from harness.report.rows import IGNORED_KEYS, Row


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


def settings_beside(flat: dict[str, Any], switched: tuple[Module, ...]) -> dict[str, Any]:
    """Every setting of a flattened config but the seed (and device), the `switched` modules'
    switches and their own params: two configs with equal settings here differ only in those
    switches, and so are cells of one factorial over them."""
    free = set(IGNORED_KEYS) | {m.key for m in switched} | {p for m in switched for p in m.params}
    return {key: value for key, value in flat.items() if key not in free}


def sub_factorial(rows: list[Row]) -> tuple[tuple[str, ...], dict[tuple[bool, ...], Row]] | None:
    """The largest complete 2^k grid (k >= 2) of declared switches among `rows`: one row per cell,
    the rows differing only in those k switches and the switched modules' own parameters
    (`Module.params`, read only where the module is on), seeds aside. The first such grid in
    declaration order where several exist; a grid with two rows in one cell (say, two PDC weights)
    is ambiguous and skipped. None where no two switches form one."""
    declared = modules()
    varying = [i for i, m in enumerate(declared) if len({r.switches()[i] for r in rows}) == 2]
    for k in range(len(varying), 1, -1):
        for chosen in itertools.combinations(varying, k):
            switched = tuple(declared[i] for i in chosen)
            groups: dict[tuple, dict[tuple[bool, ...], list[Row]]] = {}
            for row in rows:
                rest = tuple(sorted((key, repr(v)) for key, v in settings_beside(row.flat, switched).items()))
                on = row.switches()
                groups.setdefault(rest, {}).setdefault(tuple(on[i] for i in chosen), []).append(row)
            for grid in groups.values():
                if len(grid) == 2 ** k and all(len(v) == 1 for v in grid.values()):
                    return tuple(declared[i].name for i in chosen), {c: v[0] for c, v in grid.items()}
    return None


def switched_effects_table(names: tuple[str, ...], grid: dict[tuple[bool, ...], Row],
                           results: dict[str, FactorialResult], metric: str, fmt: Format) -> TableView:
    """One column per read-out: the main effects, two-way interactions and conditional effects of
    the switched modules on `metric`."""
    readouts = list(results)
    first = results[readouts[0]]
    body = [[Cell(f"{e.name} (main effect)", cls="label")] + [_effect_cell(results[r].main[i], fmt) for r in readouts]
            for i, e in enumerate(first.main)]
    body += [[Cell(f"{e.name} (interaction)", cls="label")] + [_effect_cell(results[r].interactions[i], fmt) for r in readouts]
             for i, e in enumerate(first.interactions)]
    for i, c in enumerate(first.conditionals):
        for side in ("when_off", "when_on"):
            label = f"{c.factor} with {c.given} {'off' if side == 'when_off' else 'on'}"
            body.append([Cell(label, cls="label")] + [_effect_cell(getattr(results[r].conditionals[i], side), fmt)
                                                       for r in readouts])
    view = TableView(f"Effects of {' × '.join(names)} on {metric}, per read-out",
                     ["contrast"] + [f"{r} ({metric}, points)" for r in readouts], body, css="effects")
    members = ", ".join(f"#{grid[c].number} ({'+'.join(n for n, on in zip(names, c) if on) or 'neither'})"
                        for c in sorted(grid))
    lo, hi = first.replicates
    view.notes.append(f"Rows {members} differ only in {', '.join(names)} (and those modules' own settings); "
                      f"every other setting is the same, so they form a 2^{len(names)} factorial.")
    if first.df:
        view.notes.append(f"95 % t intervals from the within-cell spread over seeds ({lo}–{hi} seeds per cell, "
                          f"{first.df} degrees of freedom; seeds pooled, not paired); * marks an interval "
                          "that excludes zero: only there does the page say a module costs or helps.")
    else:
        view.notes.append(f"Point estimates: intervals need at least 2 seeds in every cell (fewest: {lo}); "
                          "a difference of a few points on one seed is within training's spread.")
    view.notes.append("Main effect = mean of the cells with the module on − mean of those with it off; "
                      "interaction = half of (the effect with the other module on − with it off).")
    return view
