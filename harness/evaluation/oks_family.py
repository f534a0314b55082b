"""The OKS AP metric family (`OksAP` in a spec): COCO, CrowdPose, any dataset in COCO's format.

Metrics: keypoint AP by OKS with the spec's sigmas (`coco.evaluate_coco`, or CrowdPose's crowd
protocol `coco.evaluate_crowdpose` where the declaration says `crowd`) and, beyond the paper, box
PCK@0.1 (`pck_box`): a location measure that stays informative at crop sizes where OKS AP is 0,
the family's location metric. Per-image rows are images; predictions are COCO results
(`results.coco_results`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.specs import KeypointSpec, OksAP
from harness.evaluation import files
from harness.evaluation.coco import evaluate_coco, evaluate_crowdpose
from harness.evaluation.error_categories import MatchedJoints
from harness.evaluation.pck_box import NAME as PCK_NAME
from harness.evaluation.pck_box import THRESHOLD, match_coco, matched_pck, pck_correct
from harness.evaluation.per_image import AP_KEYS, coco_ap
from harness.evaluation.results import coco_results


@dataclass(frozen=True)
class OksFamily:
    """`harness.evaluation.scoring.Scorer` of a dataset declared with `declaration`."""

    declaration: OksAP
    per_image_keys = AP_KEYS
    location_threshold = THRESHOLD

    def evaluate(self, spec: KeypointSpec, gt: Any, ann_path: str | Path, preds: Any, pred_name: str,
                 head_boxes: Any, image_ids: list[int] | None
                 ) -> tuple[dict[str, float | None], dict[str, np.ndarray], MatchedJoints, dict[str, str]]:
        crowd = self.declaration.crowd
        known_ids = files.check_coco_gt(gt, ann_path, spec.num_joints, crowd=crowd)
        files.check_coco_predictions(preds, pred_name, spec.num_joints, known_ids)
        protocol = evaluate_crowdpose if crowd else evaluate_coco
        metrics, per_image = protocol(ann_path, preds, spec.sigmas, spec.name, image_ids)
        matched = match_coco(gt, preds, spec.num_joints, image_ids)
        metrics[PCK_NAME] = matched_pck(matched, THRESHOLD)
        return metrics, per_image, matched, self.details(head_boxes)

    def details(self, head_boxes: Any) -> dict[str, str]:
        return {}

    def matched(self, spec: KeypointSpec, gt: Any, ann_path: str | Path, preds: Any, head_boxes: Any,
                image_ids: list[int] | None) -> tuple[MatchedJoints, np.ndarray]:
        # COCOeval's image order: the given ids, or every image of the file, sorted
        ids = sorted(image_ids if image_ids is not None else {int(i["id"]) for i in gt["images"]})
        return match_coco(gt, preds, spec.num_joints, image_ids), np.array(ids, dtype=np.int64)

    def location_counts(self, spec: KeypointSpec, m: MatchedJoints) -> tuple[np.ndarray, np.ndarray]:
        visible = np.asarray(m.visible, bool)
        with np.errstate(invalid="ignore"):
            correct = pck_correct(m.pred, m.gt, visible, m.norm, THRESHOLD)
        return correct.sum(axis=1), visible.sum(axis=1)

    def location_per_image(self, spec: KeypointSpec, m: MatchedJoints,
                           image_ids: np.ndarray) -> dict[str, np.ndarray]:
        """The annotations' counts summed over each image of `image_ids` (0 for an image without any)."""
        correct, visible = self.location_counts(spec, m)
        ids = np.asarray(image_ids, dtype=np.int64)
        pos = {int(i): n for n, i in enumerate(ids)}
        out_c, out_v = np.zeros(len(ids), np.int64), np.zeros(len(ids), np.int64)
        for img, c, v in zip(np.asarray(m.image, np.int64), correct, visible):
            if int(img) in pos:
                out_c[pos[int(img)]] += int(c)
                out_v[pos[int(img)]] += int(v)
        return {"loc_correct": out_c, "loc_visible": out_v}

    def score_subset(self, spec: KeypointSpec, per_image: dict[str, np.ndarray], idx: np.ndarray) -> float:
        return coco_ap(per_image, idx)

    def results(self, spec: KeypointSpec, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return coco_results(instances, spec)
