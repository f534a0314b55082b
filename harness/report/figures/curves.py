"""Training curves of a study: each unweighted loss term, the weighted total, the validation metric.

One panel per quantity, one line per row (the mean over the row's completed seeds at each epoch).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from harness.report.figures.canvas import new_figure, plain, save_png


def _mean_series(curves: list[list[dict[str, Any]]], get) -> tuple[list[int], list[float]]:
    per_epoch: dict[int, list[float]] = {}
    for curve in curves:
        for entry in curve:
            value = get(entry)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                per_epoch.setdefault(int(entry.get("epoch", 0)), []).append(float(value))
    epochs = sorted(per_epoch)
    return epochs, [float(np.mean(per_epoch[e])) for e in epochs]


def plot_curves(series: list[tuple[str, list[list[dict[str, Any]]]]], primary: str | None, path: Path) -> bool:
    """Write the curves of `series` [(row label, [curve of each seed])]; False when there is nothing to plot."""
    terms = sorted({term for _, curves in series for c in curves for e in c for term in (e.get("losses") or {})})
    panels: list[tuple[str, Any]] = [(f"loss: {t}", (lambda term: lambda e: (e.get("losses") or {}).get(term))(t))
                                     for t in terms]
    panels.append(("total (weighted)", lambda e: e.get("total")))
    if primary:
        panels.append((f"val {primary}", lambda e: (e.get("val") or {}).get(primary)))
    data = [[_mean_series(curves, get) for _, get in panels] for _, curves in series]
    if not any(epochs for row in data for epochs, _ in row):
        return False
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    legend_h = 0.2 + 0.14 * math.ceil(len(series) / 4)
    height = 2.3 * nrows + legend_h
    fig = new_figure(3.0 * ncols, height)
    # Fixed margins instead of tight_layout (which draws the figure once more).
    fig.subplots_adjust(left=0.06, right=0.98, top=1 - 0.25 / height, bottom=(legend_h + 0.35) / height,
                        wspace=0.3, hspace=0.55)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    all_epochs = [e for row in data for epochs, _ in row for e in epochs]
    span = (min(all_epochs) - 0.3, max(all_epochs) + 0.3)
    lines = []
    for p, (title, _) in enumerate(panels):
        ax = axes[p]
        for r, (label, _) in enumerate(series):
            epochs, values = data[r][p]
            (line,) = ax.plot(epochs, values, marker="o" if len(epochs) < 3 else None, markersize=3,
                              linewidth=1.2, color=f"C{r % 10}", linestyle="-" if r < 10 else "--")
            if p == 0:
                lines.append((line, plain(label)))
        ax.set_title(plain(title), fontsize=8)
        ax.set_xlabel("epoch", fontsize=7)
        ax.set_xlim(*span)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=6)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.legend([l for l, _ in lines], [t for _, t in lines], loc="lower center", ncol=4, fontsize=6, frameon=False)
    save_png(fig, path)
    return True
