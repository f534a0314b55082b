"""`SkipCounter`: bad items inside a dataset are skipped and counted, then reported in one warning.

A corrupt or missing image, or an annotation without keypoints, is not worth a crash in a split of
100k instances; it is skipped, counted by reason, and reported once (`warnings.warn`) with the
counts. A missing root or annotation file is a different matter (`UserError`, see `paths`).
"""
from __future__ import annotations

import warnings
from collections import Counter


class DataSkipWarning(UserWarning):
    """Some items of a dataset were skipped (bad image, annotation without keypoints, ...)."""


class SkipCounter:
    """Counts skipped items by reason; `report()` warns once with the totals."""

    def __init__(self, where: str):
        self.where = where
        self.reasons: Counter[str] = Counter()

    def add(self, reason: str, count: int = 1) -> None:
        if count:
            self.reasons[reason] += count

    @property
    def total(self) -> int:
        return sum(self.reasons.values())

    def report(self) -> None:
        if self.total:
            detail = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))
            warnings.warn(f"{self.where}: skipped {self.total} item(s): {detail}", DataSkipWarning, stacklevel=3)
