"""The localisation ladder's figures: stacked bars of the keypoint error categories per row, and
the ladder's learning curves (each read-out's location metric and each head's mAP by epoch)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.report.figures.canvas import new_figure, plain, save_png
from harness.report.figures.curves import Panel, Series, plot_panels

# good green, near misses warm, confusions red / purple, misses grey
COLOURS = {"good": "#2e7d32", "jitter": "#f9a825", "inversion": "#e65100", "swap": "#8e24aa", "miss": "#9e9e9e"}


def plot_error_bars(rows: list[tuple[str, dict[str, float]]], categories: tuple[str, ...], path: Path) -> bool:
    """One horizontal bar per row (first row on top), its `categories` fractions stacked left to
    right; False when no row has any."""
    rows = [(label, fr) for label, fr in rows if fr]
    if not rows:
        return False
    height = 0.28 * len(rows) + 1.0
    fig = new_figure(6.4, height)
    fig.subplots_adjust(left=0.3, right=0.97, top=1 - 0.1 / height, bottom=0.75 / height)
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    for cat in categories:
        widths = np.array([100.0 * fr.get(cat, 0.0) for _, fr in rows])
        ax.barh(y, widths, left=left, color=COLOURS.get(cat, "0.5"), label=cat, height=0.7)
        left += widths
    ax.set_xlim(0, 100)
    ax.set_yticks(y)
    ax.set_yticklabels([plain(label) for label, _ in rows], fontsize=7)
    ax.set_xlabel("% of visible ground-truth joints", fontsize=7)
    ax.tick_params(axis="x", labelsize=6)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.55 / (height - 0.85)), ncol=len(categories), fontsize=6,
              frameon=False)
    save_png(fig, path)
    return True


def _at(entry: Any, *keys: str) -> Any:
    """entry[k1][k2]..., or None where a level is missing or not a mapping (a curve of another version)."""
    for key in keys:
        if not isinstance(entry, dict):
            return None
        entry = entry.get(key)
    return entry


def ladder_panels(metric: str, readouts: tuple[str, ...], heads: tuple[str, ...]) -> list[Panel]:
    """Each read-out's `metric` then each head's mAP, read from an evaluated epoch's curve entry
    (`ladder` {"mAP": {head: mAP}, "readouts": {read-out: metric}}; the paper's read-out falls back
    to `val`, which older curves also have)."""

    def readout(name: str):
        def get(e: dict[str, Any]):
            value = _at(e, "ladder", "readouts", name)
            return _at(e, "val", metric) if value is None and name == "responses" else value
        return get

    def head(name: str):
        return lambda e: _at(e, "ladder", "mAP", name)

    return [(f"{r}: val {metric}", readout(r)) for r in readouts] + [(f"{h} head: val mAP", head(h)) for h in heads]


def plot_ladder_curves(series: Series, metric: str, readouts: tuple[str, ...], heads: tuple[str, ...],
                       mean_pose: float | None, chance: float | None, path: Path) -> bool:
    """`ladder_panels` by epoch, with the mean pose on the read-outs' panels and the chance level on
    the heads'; False when no curve has any of them."""
    panels = ladder_panels(metric, readouts, heads)
    guides = {}
    if mean_pose is not None:
        guides.update({i: (mean_pose, "mean pose") for i in range(len(readouts))})
    if chance is not None:
        guides.update({len(readouts) + i: (chance, "chance") for i in range(len(heads))})
    return plot_panels(series, panels, path, guides, ncols=len(readouts))
