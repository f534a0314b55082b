"""Figs. 5 and 7: CAMs or decoder response maps over the same fixed validation samples.

One row per model (baseline, full model, single-module ablations), one column per sample; the
overlay is, per pixel, the largest of the K joint maps after each is scaled to [0, 1].
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.report.figures.canvas import line_inches, new_figure, plain, save_png, wrap


def joint_max(maps: np.ndarray) -> np.ndarray:
    """K×h×w -> h×w: each joint's map min-max scaled to [0, 1], then the maximum over joints."""
    m = np.asarray(maps, dtype=np.float64)
    lo = m.min(axis=(1, 2), keepdims=True)
    span = m.max(axis=(1, 2), keepdims=True) - lo
    scaled = np.where(span > 0, (m - lo) / np.where(span > 0, span, 1.0), 0.0)
    return scaled.max(axis=0)


ROW_IN = 1.4  # a row's height
LABEL_FONT = 6  # points


def plot_overlays(entries: list[tuple[str, np.ndarray, np.ndarray]], title: str, path: Path) -> bool:
    """`entries`: [(row label, images S×H×W×3 uint8, maps S×K×h×w)] on the same S samples."""
    entries = [e for e in entries if len(e[1])]
    if not entries:
        return False
    n_samples = min(len(e[1]) for e in entries)
    # each label wrapped to its row's height (it runs along the y axis), the left margin widened to its lines
    labels = [wrap(label, ROW_IN, LABEL_FONT) for label, _, _ in entries]
    left = 0.15 + line_inches(LABEL_FONT) * max(label.count("\n") + 1 for label in labels)
    width, height = 1.1 * n_samples + left + 0.05, ROW_IN * len(entries) + 0.3
    fig = new_figure(width, height)
    fig.subplots_adjust(left=left / width, right=0.99, bottom=0.02, top=1 - 0.25 / height, wspace=0.05,
                        hspace=0.05)
    axes = fig.subplots(len(entries), n_samples, squeeze=False)
    for r, (_, images, maps) in enumerate(entries):
        for s in range(n_samples):
            ax = axes[r][s]
            image = np.asarray(images[s])
            h, w = image.shape[:2]
            ax.imshow(image, extent=(0, w, h, 0))
            ax.imshow(joint_max(maps[s]), extent=(0, w, h, 0), cmap="jet", alpha=0.5, vmin=0, vmax=1,
                      interpolation="bilinear")
            ax.set_xticks([])
            ax.set_yticks([])
            if s == 0:
                ax.set_ylabel(labels[r], fontsize=LABEL_FONT)
    fig.suptitle(plain(title), fontsize=7, y=1 - 0.04 / height)
    save_png(fig, path)
    return True
