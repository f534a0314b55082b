"""`Scorer`: what `harness.evaluation` asks of a metric family's implementation.

A spec's `evaluator` declaration (`harness/data/specs/evaluators.py`) returns one from
`scorer()`: `oks_family.OksFamily` (OKS AP and box PCK, COCO-format files) or
`pckh_family.PckhFamily` (MPII's PCKh). `harness.evaluation.evaluator` (`evaluate`,
`location_metrics`), `per_image` (the bootstrap's resamples) and `results` (the trial's
predictions file) call nothing else that differs between datasets.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from harness.data.specs import KeypointSpec
from harness.evaluation.error_categories import MatchedJoints


class Scorer(Protocol):
    """One metric family. `spec` is the dataset's; ground truth and predictions are parsed json."""

    per_image_keys: tuple[str, ...]  # the arrays its per-image files must hold (`per_image.load_per_image`)
    location_threshold: float  # of the location metric, in its unit (box side, head size): error categories

    def evaluate(self, spec: KeypointSpec, gt: Any, ann_path: str | Path, preds: Any, pred_name: str,
                 head_boxes: Any, image_ids: list[int] | None
                 ) -> tuple[dict[str, float | None], dict[str, np.ndarray], MatchedJoints, dict[str, str]]:
        """Check both files (one-line `UserError` naming the file), then score: (metrics with the
        location metric among them, per-image arrays with `kind` and `image_ids`, the matched joints
        of the location metric, `details` of how the metrics were computed)."""
        ...

    def details(self, head_boxes: Any) -> dict[str, str]:
        """How the metrics are computed where that varies between runs (`evaluate`'s and
        `location_metrics`' `details`): MPII's head sizes; {} for a family where nothing varies."""
        ...

    def matched(self, spec: KeypointSpec, gt: Any, ann_path: str | Path, preds: Any, head_boxes: Any,
                image_ids: list[int] | None) -> tuple[MatchedJoints, np.ndarray]:
        """The location metric's matched joints alone, and the per-image ids `evaluate` would give."""
        ...

    def location_counts(self, spec: KeypointSpec, m: MatchedJoints) -> tuple[np.ndarray, np.ndarray]:
        """Per annotation (N): correct and scored joints of the location metric."""
        ...

    def location_per_image(self, spec: KeypointSpec, m: MatchedJoints,
                           image_ids: np.ndarray) -> dict[str, np.ndarray]:
        """`loc_correct`, `loc_visible` aligned with the per-image `image_ids`."""
        ...

    def score_subset(self, spec: KeypointSpec, per_image: dict[str, np.ndarray], idx: np.ndarray) -> float:
        """The primary metric on the resample `idx` of the per-image rows (NaN where undefined)."""
        ...

    def results(self, spec: KeypointSpec, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The model's instances as the dataset's standard results file (`results.build_results`)."""
        ...
