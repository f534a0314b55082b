"""Notes the report attaches to results computed in a non-standard way.

What needs a note is the dataset's metric family's to say (`Evaluator.report_notes` in
`harness/data/specs/evaluators.py`): MPII PCKh, for one, is standard only with the head boxes of
`mpii_gt_val.mat` (metrics.json `evaluation.head_size_source` "mat"). Results scored by the
location metric alone (`evaluation.metrics`, scripts/gpu_seeds.py) get a note of their own.
"""
from __future__ import annotations

from typing import Any, Iterable

from harness.data.specs import SPECS, KeypointSpec
from harness.evaluation.evaluator import LOCATION_ONLY


def dataset_notes(kind: str, items: Iterable[Any]) -> list[str]:
    """The notes on the completed results of dataset `kind` among `items` (`TrialRecord`s or
    `Reference`s: `.kind`, `.evaluation`); none for a kind without a spec."""
    if kind not in SPECS:
        return []
    spec = SPECS[kind]
    done = [x for x in items if x.kind == kind and getattr(x, "completed", True)]
    return location_only_notes(spec, done) + spec.evaluator.report_notes(spec, done)


def location_only_notes(spec: KeypointSpec, items: list[Any]) -> list[str]:
    """One note when some of `items` (results of `spec`'s dataset) were scored by the location metric
    alone (scripts/gpu_seeds.py on a machine without pycocotools / xtcocotools). What they lack is
    the dataset's: where the primary metric is another (OKS AP), their primary-metric cells stay
    empty; where it is the location metric (MPII's PCKh Mean), only the other metrics are missing."""
    located = [x for x in items if (x.evaluation or {}).get("metrics") == LOCATION_ONLY]
    if not located:
        return []
    lead = (f"{len(located)} of {len(items)} results here were scored by the location metric alone "
            "(scripts/gpu_seeds.py, a machine without pycocotools / xtcocotools): ")
    tail = "; their location metric, ladder and intervals against the mean pose are computed as harness run's."
    if spec.primary_metric == spec.location_metric:
        return [lead + f"they carry {spec.location_metric} and none of the dataset's other metrics" + tail]
    return [lead + f"they carry no {spec.primary_metric}, so their primary-metric cells are empty and leave "
            f"the {spec.primary_metric} means and intervals out" + tail]
