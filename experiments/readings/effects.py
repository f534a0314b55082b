"""The modules switched among a set of readings trials as a 2^n factorial over seeds: each read-out's
main effects, two-way interactions and conditional effects (the report's factorial contrasts,
`harness.report.factorial.factorial_effects`, with the within-cell spread over the seeds pooled),
and each cell's figure per seed.

    python experiments/readings/effects.py results/run_matrix/screen14/{1fedb77116a8,9f42790f343a,...}

Cells are keyed by the declared switches (`harness.paper.modules`) that differ among the trials
(at least two of them); every other config value must be the same in every trial but the seed and
the switched modules' own parameters (`Module.params`: PDC's beta, RePPG's gradient), which only
exist where the module is on (`settings_beside`, by which the report's `sub_factorial` groups its
rows). Every trial must have been scored on the same validation images. The report's readings page
shows the same contrasts ("Factorial analysis of the switched modules"); this script reads trial
folders from anywhere (records, several results folders).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from harness.paper.modules import modules
from harness.record import READOUTS
from harness.report.factorial import FactorialResult, factorial_effects
from harness.report.factorial_view import settings_beside
from harness.report.rows import flatten

from seeds import figure  # a sibling script: `python <script>` puts this folder on sys.path


class TrialSetError(ValueError):
    """The trials do not form a factorial: the message names the trial and the problem."""


def cells_of_trials(folders: list[Path]) -> tuple[tuple[str, ...], dict[Path, tuple[bool, ...]]]:
    """The switched modules' names and each trial's cell (those modules on/off), after checking
    that the trials differ in nothing else but their seeds and the switched modules' parameters."""
    flats = {}
    for folder in folders:
        path = folder / "metrics.json"
        if not path.is_file() or not (folder / "per_image.npz").is_file():
            raise TrialSetError(f"{folder}: no metrics.json and per_image.npz (not a completed trial folder)")
        flats[folder] = flatten(json.loads(path.read_text()).get("config", {}))
    switched = [m for m in modules() if len({bool(f.get(m.key, False)) for f in flats.values()}) == 2]
    if len(switched) < 2:
        raise TrialSetError(f"the trials switch {len(switched)} declared module(s); a factorial needs 2 or more "
                            "(for two rows use seeds.py)")
    beside = {f: settings_beside(flats[f], tuple(switched)) for f in folders}
    first, *rest = folders
    for folder in rest:
        keys = set(beside[first]) | set(beside[folder])
        differ = sorted(k for k in keys if beside[first].get(k) != beside[folder].get(k))
        if differ:
            raise TrialSetError(f"{folder} differs from {first} in {differ[0]} "
                                f"({flats[folder].get(differ[0])!r} against {flats[first].get(differ[0])!r}), "
                                "not only in the switched modules and the seed")
    ids = np.load(first / "per_image.npz")["image_ids"]
    for folder in rest:
        if not np.array_equal(np.load(folder / "per_image.npz")["image_ids"], ids):
            raise TrialSetError(f"{folder} and {first} were scored on different validation images")
    names = tuple(m.name for m in switched)
    return names, {f: tuple(bool(flats[f].get(m.key, False)) for m in switched) for f in folders}


def effects(folders: list[Path]) -> tuple[tuple[str, ...], dict[str, tuple[FactorialResult, dict]]]:
    """{read-out: (its factorial result, {cell: [figure per trial]})} for every read-out all the
    trials recorded."""
    names, cell = cells_of_trials(folders)
    out = {}
    for readout in READOUTS:
        values = {f: figure(f, readout) for f in folders}
        if any(v is None for v in values.values()):
            continue
        cells: dict[tuple[bool, ...], list[float]] = {}
        for f in folders:
            cells.setdefault(cell[f], []).append(values[f])
        try:
            result = factorial_effects(cells, names)
        except ValueError as err:
            raise TrialSetError(f"{readout}: {err}") from err
        out[readout] = (result, cells)
    return names, out


def _label(names: tuple[str, ...], cell: tuple[bool, ...]) -> str:
    return " + ".join(n for n, on in zip(names, cell) if on) or "neither"


def _effect(e) -> str:
    interval = "" if e.lo is None else f" [{e.lo:+.3f}, {e.hi:+.3f}]{' *' if e.excludes_zero else ''}"
    return f"{e.estimate:+.3f}{interval}"


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print("usage: effects.py <trial folder> ... (every cell of the switched modules, one or more seeds each)",
              file=sys.stderr)
        return 2
    try:
        names, results = effects([Path(x) for x in argv])
    except TrialSetError as err:
        print(err, file=sys.stderr)
        return 2
    for readout, (result, cells) in results.items():
        lo, hi = result.replicates
        print(f"{readout} (PCK; 95 % t intervals, {lo}-{hi} seeds per cell, {result.df} df; * excludes zero)")
        for c in sorted(cells):
            values = ", ".join(f"{v:.3f}" for v in cells[c])
            print(f"  cell {_label(names, c):<14} {np.mean(cells[c]):.3f}  ({values})")
        for e in result.main + result.interactions:
            print(f"  {'effect ' + e.name:<20} {_effect(e)}")
        for c in result.conditionals:
            print(f"  {c.factor + ' | ' + c.given:<20} off {_effect(c.when_off)}  on {_effect(c.when_on)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
