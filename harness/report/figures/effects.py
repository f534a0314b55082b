"""The factorial study's effects as a small bar plot (percentage points, 95 % intervals if any)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.report.factorial import Effect
from harness.report.figures.canvas import new_figure, plain, save_png


def plot_effects(effects: list[Effect], metric: str, path: Path) -> bool:
    if not effects:
        return False
    est = np.array([100.0 * e.estimate for e in effects])
    has_ci = all(e.lo is not None for e in effects)
    height = 0.22 * len(effects) + 0.7
    fig = new_figure(4.6, height)
    fig.subplots_adjust(left=0.22, right=0.97, top=1 - 0.1 / height, bottom=0.45 / height)
    ax = fig.subplots()
    y = np.arange(len(effects))[::-1]
    colors = ["tab:blue" if i < 4 else "tab:orange" for i in range(len(effects))]
    if has_ci:
        err = np.array([[100.0 * (e.estimate - e.lo), 100.0 * (e.hi - e.estimate)] for e in effects]).T
        ax.barh(y, est, color=colors, xerr=err, error_kw={"elinewidth": 0.8, "capsize": 2})
    else:
        ax.barh(y, est, color=colors)
    ax.axvline(0.0, color="black", linewidth=0.6)
    ax.set_yticks(y)
    ax.set_yticklabels([plain(e.name) for e in effects], fontsize=7)
    ax.set_xlabel(plain(f"effect on {metric} (percentage points)"), fontsize=7)
    ax.tick_params(axis="x", labelsize=6)
    save_png(fig, path)
    return True
