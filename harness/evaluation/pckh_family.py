"""The PCKh metric family (`Pckh` in a spec): MPII.

Metrics: PCKh@0.5 by group, `Mean` and `Mean@0.1` (`pckh`), standard with the head boxes of
`mpii_gt_val.mat` (`details["head_size_source"]` "mat"), else with head sizes from the spec's two
head joints ("joints"). The location metric is `Mean`; per-image rows are the predicted
annotations; predictions are MPII's list form (`results.mpii_results`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.mpii_mat import MpiiGroundTruth, load_mpii_mat
from harness.data.specs import KeypointSpec, Pckh
from harness.evaluation import files
from harness.evaluation.error_categories import MatchedJoints
from harness.evaluation.pckh import mpii_matched, pckh_correct, pckh_metrics
from harness.evaluation.per_image import PCKH_KEYS, pckh_mean
from harness.evaluation.results import mpii_results

THRESHOLD = 0.5  # PCKh@0.5: the location metric's threshold, in head sizes


def _mat(head_boxes: MpiiGroundTruth | str | Path | None) -> MpiiGroundTruth | None:
    return load_mpii_mat(head_boxes) if isinstance(head_boxes, (str, Path)) else head_boxes


@dataclass(frozen=True)
class PckhFamily:
    """`harness.evaluation.scoring.Scorer` of a dataset declared with `declaration`."""

    declaration: Pckh
    per_image_keys = PCKH_KEYS
    location_threshold = THRESHOLD

    def evaluate(self, spec: KeypointSpec, gt: Any, ann_path: str | Path, preds: Any, pred_name: str,
                 head_boxes: Any, image_ids: list[int] | None
                 ) -> tuple[dict[str, float | None], dict[str, np.ndarray], MatchedJoints, dict[str, str]]:
        files.check_mpii_gt(gt, ann_path, spec.num_joints)
        files.check_mpii_predictions(preds, pred_name, spec.num_joints, len(gt))
        mat = _mat(head_boxes)
        m = mpii_matched(gt, preds, spec.num_joints, self.declaration.head, ann_path, mat)
        correct = pckh_correct(m.pred, m.gt, m.visible, m.norm, THRESHOLD)
        correct01 = pckh_correct(m.pred, m.gt, m.visible, m.norm, 0.1)
        index = np.sort(np.array([p["index"] for p in preds], dtype=np.int64), kind="stable")
        per_image = {"kind": np.array(spec.name), "image_ids": index, "correct": correct,
                     "correct01": correct01, "visible": m.visible}
        metrics = pckh_metrics(correct, correct01, m.visible, spec.pckh_groups,
                               self.declaration.mean_joints(spec.num_joints))
        return metrics, per_image, m, self.details(mat)

    def details(self, head_boxes: Any) -> dict[str, str]:
        return {"head_size_source": "joints" if head_boxes is None else "mat"}

    def matched(self, spec: KeypointSpec, gt: Any, ann_path: str | Path, preds: Any, head_boxes: Any,
                image_ids: list[int] | None) -> tuple[MatchedJoints, np.ndarray]:
        m = mpii_matched(gt, preds, spec.num_joints, self.declaration.head, ann_path, _mat(head_boxes))
        return m, np.sort(np.array([p["index"] for p in preds], dtype=np.int64), kind="stable")

    def location_counts(self, spec: KeypointSpec, m: MatchedJoints) -> tuple[np.ndarray, np.ndarray]:
        """Exactly PCKh's comparison, on the joints of its Mean."""
        mean = list(self.declaration.mean_joints(spec.num_joints))
        visible = np.asarray(m.visible, bool)
        with np.errstate(invalid="ignore"):
            correct = pckh_correct(m.pred, m.gt, visible, m.norm, THRESHOLD)
        return correct[:, mean].sum(axis=1), visible[:, mean].sum(axis=1)

    def location_per_image(self, spec: KeypointSpec, m: MatchedJoints,
                           image_ids: np.ndarray) -> dict[str, np.ndarray]:
        """One row per predicted annotation (PCKh's per-image rows are annotations)."""
        correct, visible = self.location_counts(spec, m)
        return {"loc_correct": correct.astype(np.int64), "loc_visible": visible.astype(np.int64)}

    def score_subset(self, spec: KeypointSpec, per_image: dict[str, np.ndarray], idx: np.ndarray) -> float:
        return pckh_mean(per_image, idx, self.declaration.mean_joints(spec.num_joints))

    def results(self, spec: KeypointSpec, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return mpii_results(instances, spec)
