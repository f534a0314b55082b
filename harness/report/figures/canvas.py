"""A figure on an Agg canvas (no pyplot global state) and its atomic, deterministic PNG write."""
from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.atomic import atomic_write

DPI = 80


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    """Write `fig` as a PNG atomically; no software/version metadata, so the bytes are reproducible."""
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=DPI, metadata={"Software": None}),
                        mode="wb")


def plain(text: str) -> str:
    """User text for a figure: '$' would start matplotlib's mathtext."""
    return str(text).replace("$", r"\$")


def char_inches(fontsize: float) -> float:
    """A character's width at `fontsize` points, generously: DejaVu Sans averages ~0.55 em, 0.6 em
    leaves room for wide letters."""
    return 0.6 * fontsize / 72


def line_inches(fontsize: float) -> float:
    """A text line's height at `fontsize` points with matplotlib's line spacing."""
    return 1.4 * fontsize / 72


def wrap(text: str, inches: float, fontsize: float) -> str:
    """User text for a figure (`plain`) wrapped to lines at most `inches` long at `fontsize`: a
    readings row's label carries its readings (hundreds of characters) and would run off the figure."""
    return textwrap.fill(plain(text), max(12, int(inches / char_inches(fontsize))))
