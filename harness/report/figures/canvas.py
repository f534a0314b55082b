"""A figure on an Agg canvas (no pyplot global state) and its atomic, deterministic PNG write."""
from __future__ import annotations

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
