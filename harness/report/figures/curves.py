"""Curves over epochs, one panel per quantity and one line per row (the mean over the row's
completed seeds at each epoch): `plot_panels` draws any such set (the ladder's location curves
use it too); `plot_curves` the training curves: each unweighted loss term, the weighted total
and the validation metric.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
from matplotlib.ticker import MaxNLocator

from harness.report.figures.canvas import new_figure, plain, save_png, wrap


def _mean_series(curves: list[list[dict[str, Any]]], get) -> tuple[list[int], list[float]]:
    per_epoch: dict[int, list[float]] = {}
    for curve in curves:
        for entry in curve:
            value = get(entry)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                per_epoch.setdefault(int(entry.get("epoch", 0)), []).append(float(value))
    epochs = sorted(per_epoch)
    return epochs, [float(np.mean(per_epoch[e])) for e in epochs]


MAX_EPOCH_TICKS = 12
LEGEND_COLS = 4
LEGEND_FONT = 6  # points
LEGEND_HANDLE_IN = 0.45  # the line sample and the gaps beside each legend entry
Series = list[tuple[str, list[list[dict[str, Any]]]]]  # [(row label, [curve of each seed])]
Panel = tuple[str, Callable[[dict[str, Any]], Any]]  # (title, the value of a curve entry)


def plot_curves(series: Series, primary: str | None, path: Path) -> bool:
    """Write the training curves of `series`; False when there is nothing to plot."""
    terms = sorted({term for _, curves in series for c in curves for e in c for term in (e.get("losses") or {})})
    panels: list[Panel] = [(f"loss: {t}", (lambda term: lambda e: (e.get("losses") or {}).get(term))(t))
                           for t in terms]
    panels.append(("total (weighted)", lambda e: e.get("total")))
    if primary:
        panels.append((f"val {primary}", lambda e: (e.get("val") or {}).get(primary)))
    return plot_panels(series, panels, path)


def plot_panels(series: Series, panels: list[Panel], path: Path,
                guides: dict[int, tuple[float, str]] | None = None, ncols: int = 4) -> bool:
    """One panel per entry of `panels` (`ncols` a line), one line per row of `series`; `guides`
    {panel index: (value, label)} draws a dotted horizontal line (a reference level such as the
    mean pose). False when there is nothing to plot."""
    guides = guides or {}
    data = [[_mean_series(curves, get) for _, get in panels] for _, curves in series]
    if not any(epochs for row in data for epochs, _ in row):
        return False
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    width = 3.0 * ncols
    legend_cols = min(LEGEND_COLS, len(series))
    labels = [wrap(label, width / legend_cols - LEGEND_HANDLE_IN, LEGEND_FONT) for label, _ in series]
    label_lines = max(label.count("\n") + 1 for label in labels)
    legend_h = 0.2 + 0.14 * math.ceil(len(series) / legend_cols) * label_lines
    height = 2.3 * nrows + legend_h
    fig = new_figure(width, height)
    # Fixed margins instead of tight_layout (which draws the figure once more).
    fig.subplots_adjust(left=0.06, right=0.98, top=1 - 0.25 / height, bottom=(legend_h + 0.35) / height,
                        wspace=0.3, hspace=0.55)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    all_epochs = [e for row in data for epochs, _ in row for e in epochs]
    span = (min(all_epochs) - 0.3, max(all_epochs) + 0.3)
    ticks = sorted(set(all_epochs))
    lines = []
    for p, (title, _) in enumerate(panels):
        ax = axes[p]
        for r in range(len(series)):
            epochs, values = data[r][p]
            (line,) = ax.plot(epochs, values, marker="o" if len(epochs) < 3 else None, markersize=3,
                              linewidth=1.2, color=f"C{r % 10}", linestyle="-" if r < 10 else "--")
            if p == 0:
                lines.append((line, labels[r]))
        if p in guides:
            value, text = guides[p]
            ax.axhline(value, color="0.3", linewidth=0.9, linestyle=":")
            ax.annotate(plain(text), (0.01, value), xycoords=("axes fraction", "data"), fontsize=6, color="0.3",
                        va="bottom")
        ax.set_title(plain(title), fontsize=8)
        ax.set_xlabel("epoch", fontsize=7)
        ax.set_xlim(*span)
        if len(ticks) <= MAX_EPOCH_TICKS:
            ax.set_xticks(ticks)  # MaxNLocator puts fractional ticks on a span under one epoch
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=6)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.legend([l for l, _ in lines], [t for _, t in lines], loc="lower center", ncol=legend_cols,
               fontsize=LEGEND_FONT, frameon=False)
    save_png(fig, path)
    return True
