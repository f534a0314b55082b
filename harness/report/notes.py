"""Notes the report attaches to results computed in a non-standard way.

What needs a note is the dataset's metric family's to say (`Evaluator.report_notes` in
`harness/data/specs/evaluators.py`): MPII PCKh, for one, is standard only with the head boxes of
`mpii_gt_val.mat` (metrics.json `evaluation.head_size_source` "mat").
"""
from __future__ import annotations

from typing import Any, Iterable

from harness.data.specs import SPECS


def dataset_notes(kind: str, items: Iterable[Any]) -> list[str]:
    """The notes on the completed results of dataset `kind` among `items` (`TrialRecord`s or
    `Reference`s: `.kind`, `.evaluation`); none for a kind without a spec."""
    if kind not in SPECS:
        return []
    spec = SPECS[kind]
    return spec.evaluator.report_notes(spec, [x for x in items if x.kind == kind and getattr(x, "completed", True)])
