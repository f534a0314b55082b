"""What the templates render: tables of cells and figures, and how numbers are written in them.

Metrics are fractions in [0, 1] and are written as percentages, as in the paper (1 decimal at
full scale, 2 at smoke / synthetic scale where the numbers are small); response statistics stay
in [0, 1]. Every text here is plain text: the templates escape it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.report.stats import Summary


@dataclass
class Cell:
    text: str = ""
    sub: str = ""  # small grey text after the value (n = ...)
    title: str = ""  # tooltip
    cls: str = ""  # css class: label, num, sig, failed, missing, warn, xsplit
    colspan: int = 1
    href: str = ""  # a relative link (the text becomes the link's text)


@dataclass
class TableView:
    caption: str
    header: list[str]
    body: list[list[Cell]]
    foot: list[list[Cell]] = field(default_factory=list)
    css: str = ""
    notes: list[str] = field(default_factory=list)
    anchor: str = ""


@dataclass
class FigureView:
    src: str  # relative to the page
    caption: str


@dataclass(frozen=True)
class Format:
    """Number formatting for one report: `digits` after the point for percentages."""

    digits: int = 1
    scale_percent: bool = True

    def value(self, v: float | None) -> str:
        if v is None:
            return "—"
        if self.scale_percent:
            return f"{100.0 * v:.{self.digits}f}"
        return f"{v:.{self.digits + 1}f}"

    def signed(self, v: float) -> str:
        text = self.value(abs(v))
        if v < 0 and text.strip("0.") != "":
            return "−" + text
        return "+" + text

    def interval(self, v: float, lo: float, hi: float) -> str:
        """A difference and its interval: `+1.20 [+0.40, +2.00]`."""
        return f"{self.signed(v)} [{self.signed(lo)}, {self.signed(hi)}]"

    def summary(self, s: Summary, seeds: int | None = None) -> Cell:
        """`mean ± std` with `n=`; a dash when no completed seed has the value."""
        if s.mean is None or s.n == 0:
            return Cell("—", sub="n=0", title="no completed seed has this value", cls="num missing")
        text = self.value(s.mean) if s.std is None else f"{self.value(s.mean)} ± {self.value(s.std)}"
        title = f"mean over {s.n} seed(s)" + ("" if s.std is None else "; ± sample standard deviation")
        if seeds is not None and seeds != s.n:
            title += f"; {seeds} seed(s) in the row"
        return Cell(text, sub=f"n={s.n}", title=title, cls="num")


def percent_format(scale: str) -> Format:
    return Format(digits=1 if scale == "full" else 2)


def response_format(scale: str) -> Format:
    return Format(digits=1 if scale == "full" else 2, scale_percent=False)
