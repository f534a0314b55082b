"""Notes the report attaches to results computed in a non-standard way.

MPII PCKh is standard only with the head boxes of `mpii_gt_val.mat` (metrics.json
`evaluation.head_size_source` "mat"); PCKh from head sizes estimated from the joints ("joints", or
a folder written before the source was recorded) is marked as not comparable with published numbers.
"""
from __future__ import annotations

from typing import Any, Iterable


def pckh_notes(kind: str, items: Iterable[Any]) -> list[str]:
    """One note when any completed MPII trial or reference in `items` (`TrialRecord`s or
    `Reference`s: `.kind`, `.evaluation`) has PCKh that is not the standard one; else none."""
    if kind != "mpii":
        return []
    mpii = [x for x in items if x.kind == "mpii" and getattr(x, "completed", True)]
    estimated = [x for x in mpii if (x.evaluation or {}).get("head_size_source") != "mat"]
    if not estimated:
        return []
    return [f"Non-standard PCKh: {len(estimated)} of {len(mpii)} MPII results here use head sizes estimated from "
            "the joints (no mpii_gt_val.mat: set the dataset's head_boxes), or do not record their head size "
            "source; they are not comparable with published MPII PCKh."]
