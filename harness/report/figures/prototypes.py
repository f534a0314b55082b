"""Fig. 6: inner-product matrices of the pose prototypes, as heatmaps with joint names on the axes.

(a) random initialisation, (b) after self-attention, (c) the initial joint relevance, (d) after
RePPG; a trial has the ones its modules produce.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.report.figures.canvas import new_figure, save_png

PANELS = {"a": "(a) random init", "b": "(b) after SA", "c": "(c) initial joint relevance", "d": "(d) after RePPG"}


def plot_prototypes(matrices: dict[str, np.ndarray], joints: list[str], path: Path) -> bool:
    """Write the heatmaps of the K×K matrices among a, b, c, d; False when there is none."""
    import seaborn as sns

    keys = [k for k in PANELS if k in matrices and np.asarray(matrices[k]).ndim == 2]
    if not keys:
        return False
    fig = new_figure(3.3 * len(keys), 3.4)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        m = np.asarray(matrices[key], dtype=np.float64)
        names = list(joints) if len(joints) == m.shape[0] == m.shape[1] else [str(i) for i in range(m.shape[0])]
        sns.heatmap(m, ax=ax, xticklabels=names, yticklabels=names, cmap="viridis", square=True,
                    cbar_kws={"shrink": 0.7})
        ax.set_title(PANELS[key], fontsize=8)
        ax.tick_params(labelsize=5)
        ax.figure.axes[-1].tick_params(labelsize=5)
    fig.tight_layout()
    save_png(fig, path)
    return True
