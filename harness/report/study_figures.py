"""Which trials each figure of a study page shows, and the figure files (written once each).

- training curves: every row of the group;
- Fig. 6: the row with the most modules on (the full model where it ran), its first seed;
- Figs. 5 / 7: baseline, full model and single-module rows, counted over the switches the study's
  rows vary (else the first rows), first seed each, on the validation samples that all of them kept (maps.npz `sample_index`), at most 3;
- Fig. 8: every completed trial that kept maps.
File names are derived from study and trial names only, so the same results give the same files.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from harness.data.specs import SPECS
from harness.report.cells import FigureView
from harness.report.figures.curves import plot_curves
from harness.report.figures.maps import plot_overlays
from harness.report.figures.prototypes import plot_prototypes
from harness.report.figures.skeletons import plot_skeletons
from harness.report.loading import TrialRecord, load_arrays
from harness.report.rows import Row, figure_key, figure_label, short_label
from harness.tables.declaration import Table

MAX_MAP_ROWS = 8
MAX_MAP_SAMPLES = 3
FIG_DIR = "figures"


class FigureWriter:
    """Writes each figure file once per build and remembers which files it wrote."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.written: set[str] = set()
        self._failed: set[str] = set()
        self._arrays: dict[Path, dict | None] = {}

    def once(self, name: str, make: Callable[[Path], bool]) -> str | None:
        rel = f"{FIG_DIR}/{name}"
        if rel in self.written:
            return rel
        if rel in self._failed:
            return None
        if make(self.out_dir / rel):
            self.written.add(rel)
            return rel
        self._failed.add(rel)
        return None

    def arrays(self, path: Path, required: tuple[str, ...] = ()) -> dict | None:
        if path not in self._arrays:
            self._arrays[path] = load_arrays(path, required)
        return self._arrays[path]


def _first_with(row: Row, filename: str) -> TrialRecord | None:
    for t in row.completed:
        if (t.dir / filename).is_file():
            return t
    return None


def _joints(kind: str, k: int) -> list[str]:
    if kind in SPECS and SPECS[kind].num_joints == k:
        return list(SPECS[kind].joints)
    return [str(i) for i in range(k)]


def _skeleton(row: Row) -> tuple:
    if row.kind in SPECS:
        return SPECS[row.kind].skeleton
    return tuple(tuple(e) for e in row.flat.get("model.skeleton", ()))


def curves_figure(writer: FigureWriter, stem: str, rows: list[Row], table: Table,
                  primary: str | None) -> FigureView | None:
    series = [(figure_label(r, table), [t.curve for t in r.completed if t.curve]) for r in rows]
    series = [(label, curves) for label, curves in series if curves]
    src = writer.once(f"{stem}-curves.png", lambda p: plot_curves(series, primary, p))
    return FigureView(src, "Training curves: each unweighted loss term, the weighted total and the validation "
                           "metric; mean over each row's completed seeds." + figure_key(table)) if src else None


def prototypes_figure(writer: FigureWriter, rows: list[Row], table: Table) -> FigureView | None:
    for row in sorted(rows, key=lambda r: -sum(r.switches())):
        t = _first_with(row, "prototypes.npz")
        if t is None:
            continue
        mats = writer.arrays(t.dir / "prototypes.npz")
        k = next((np.asarray(v).shape[0] for v in mats.values() if np.asarray(v).ndim == 2), 0)
        src = writer.once(f"fig6-{t.id}.png", lambda p: plot_prototypes(mats, _joints(row.kind, k), p))
        if src:
            return FigureView(src, f"Fig. 6: inner products of the learned pose prototypes, {short_label(row, table)} "
                                   f"(trial {t.id}, seed {t.seed}).")
    return None


def _map_rows(rows: list[Row]) -> list[Row]:
    """The rows whose maps are drawn, at most MAX_MAP_ROWS: the baseline (no module on), the full model
    and the single-module ablations, in that order. Counted over the modules the study's rows switch
    differently: a study whose base holds MS off (the readings rounds) has its full model at 3 of
    the 4 switches, which a count over all four took for neither and left out of the figures."""
    n = len(rows[0].switches()) if rows else 0
    varying = [i for i in range(n) if len({r.switches()[i] for r in rows}) > 1]

    def on(row: Row) -> int:
        return sum(row.switches()[i] for i in varying)

    chosen = [r for r in rows if on(r) in (0, 1, len(varying))]
    chosen.sort(key=lambda r: (0 if on(r) == 0 else 1 if on(r) == len(varying) else 2, r.number))
    return (chosen or rows)[:MAX_MAP_ROWS]


def map_figures(writer: FigureWriter, stem: str, rows: list[Row], table: Table) -> list[FigureView]:
    picked = []
    for row in _map_rows(rows):
        t = _first_with(row, "maps.npz")
        if t is not None:
            picked.append((row, t, writer.arrays(t.dir / "maps.npz", ("images", "sample_index"))))
    if not picked:
        return []
    common = set(int(i) for i in picked[0][2]["sample_index"])
    for _, _, a in picked[1:]:
        common &= set(int(i) for i in a["sample_index"])
    samples = sorted(common)[:MAX_MAP_SAMPLES]
    if not samples:
        return []
    figures = []
    for key, what in (("cams", "Fig. 5 / 7 (encoder side): class activation maps"),
                      ("responses", "Fig. 5 / 7 (decoder side): decoder response maps")):
        entries = []
        for row, t, a in picked:
            if key not in a:
                continue
            pos = [int(np.flatnonzero(np.asarray(a["sample_index"]) == s)[0]) for s in samples]
            entries.append((figure_label(row, table), np.asarray(a["images"])[pos], np.asarray(a[key])[pos]))
        src = writer.once(f"{stem}-{key}.png", lambda p: plot_overlays(entries, what, p))
        if src:
            figures.append(FigureView(src, f"{what}, over validation samples {', '.join(map(str, samples))} "
                                           "(the largest of the joints' maps, each scaled to [0, 1]); first seed of "
                                           "each row." + figure_key(table)))
    return figures


def skeleton_figures(writer: FigureWriter, rows: list[Row], table: Table) -> list[tuple[str, list[FigureView]]]:
    """[(row label, [Fig. 8 of each of its trials])]."""
    out = []
    for row in rows:
        views = []
        for t in row.completed:
            a = writer.arrays(t.dir / "maps.npz", ("images", "sample_index"))
            if a is None or "pred" not in a or "gt" not in a:
                continue
            src = writer.once(f"fig8-{t.id}.png",
                              lambda p: plot_skeletons(a["images"], a["pred"], a["gt"], _skeleton(row), p))
            if src:
                views.append(FigureView(src, f"seed {t.seed} (trial {t.id})"))
        if views:
            out.append((short_label(row, table), views))
    return out
