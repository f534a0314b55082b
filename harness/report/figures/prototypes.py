"""Fig. 6: inner-product matrices of the pose prototypes, as heatmaps with joint names on the axes.

(a) random initialisation, (b) after self-attention, (c) the initial joint relevance, (d) after
RePPG; a trial has the ones its modules produce. Drawn with `imshow` and a colour bar per panel
(seaborn's heatmap redraws the whole figure once per panel to check its tick labels: slow).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import StrMethodFormatter

from harness.report.figures.canvas import new_figure, save_png

PANELS = {"a": "(a) random init", "b": "(b) after SA", "c": "(c) initial joint relevance", "d": "(d) after RePPG"}


def plot_prototypes(matrices: dict[str, np.ndarray], joints: list[str], path: Path) -> bool:
    """Write the heatmaps of the K×K matrices among a, b, c, d; False when there is none."""
    keys = [k for k in PANELS if k in matrices and np.asarray(matrices[k]).ndim == 2]
    if not keys:
        return False
    # Fixed margins instead of tight_layout: a layout pass draws the whole figure once more.
    fig = new_figure(3.3 * len(keys), 3.5)
    fig.subplots_adjust(left=0.45 / len(keys), right=0.98, bottom=0.26, top=0.92, wspace=0.6)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        m = np.asarray(matrices[key], dtype=np.float64)
        names = list(joints) if len(joints) == m.shape[0] == m.shape[1] else [str(i) for i in range(m.shape[0])]
        image = ax.imshow(m, cmap="viridis", interpolation="nearest")
        ax.set_xticks(range(len(names)))
        ax.set_yticks(range(len(names)))
        ax.set_xticklabels(names, rotation=90)
        ax.set_yticklabels(names)
        ax.tick_params(labelsize=5, length=1, pad=1)
        ax.set_title(PANELS[key], fontsize=8)
        bar = fig.colorbar(image, ax=ax, shrink=0.7, pad=0.03)
        # Why: panel (c) holds values near 1e8; the default formatter then prints its "1e8" offset
        # above the bar, over the panel's title. Each tick carries its own magnitude instead.
        bar.ax.yaxis.set_major_formatter(StrMethodFormatter("{x:.3g}"))
        bar.ax.tick_params(labelsize=5)
    save_png(fig, path)
    return True
