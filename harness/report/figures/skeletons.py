"""Fig. 8: predicted skeletons on the fixed sample crops of one trial, with the ground truth beside."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection

from harness.report.figures.canvas import new_figure, save_png


def _draw(ax, image: np.ndarray, joints: np.ndarray, skeleton, color: str, visible: np.ndarray) -> None:
    h, w = image.shape[:2]
    ax.imshow(image, extent=(0, w, h, 0))
    segments = [[joints[a, :2], joints[b, :2]] for a, b in skeleton
                if a < len(joints) and b < len(joints) and visible[a] and visible[b]]
    ax.add_collection(LineCollection(segments, colors=color, linewidths=1.0))
    pts = joints[visible]
    ax.scatter(pts[:, 0], pts[:, 1], s=4, color=color, zorder=3)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_skeletons(images: np.ndarray, pred: np.ndarray, gt: np.ndarray, skeleton, path: Path,
                   max_samples: int = 4) -> bool:
    """Top row: predictions (every joint); bottom row: ground truth (visible joints)."""
    n = min(len(images), len(pred), len(gt), max_samples)
    if n == 0:
        return False
    fig = new_figure(1.2 * n + 0.3, 3.2)
    fig.subplots_adjust(left=0.3 / (1.2 * n + 0.3), right=0.99, bottom=0.01, top=0.99, wspace=0.05, hspace=0.05)
    axes = fig.subplots(2, n, squeeze=False)
    for s in range(n):
        image = np.asarray(images[s])
        p, g = np.asarray(pred[s], dtype=np.float64), np.asarray(gt[s], dtype=np.float64)
        _draw(axes[0][s], image, p, skeleton, "tab:red", np.isfinite(p[:, :2]).all(axis=1))
        _draw(axes[1][s], image, g, skeleton, "tab:green", (g[:, 2] > 0) & np.isfinite(g[:, :2]).all(axis=1))
    axes[0][0].set_ylabel("predicted", fontsize=7)
    axes[1][0].set_ylabel("ground truth", fontsize=7)
    save_png(fig, path)
    return True
