"""`harness report`: a results folder as the paper's tables and figures, in HTML.

`build_report(results_dir, out_dir) -> Path` reads files only (no Ray, no training, no torch)
and writes index.html, one page per study, a cost page and Table 7, with the figures beside
them. See build.py for the pages and docs/architecture.md for the results folder it reads.
"""
from harness.report.build import build_report

__all__ = ["build_report"]
