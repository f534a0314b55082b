"""Evaluators (COCO / CrowdPose AP, MPII PCKh), results writing, per-image results, response stats.

- `evaluator.evaluate(kind, ann_path, predictions, head_boxes=...)` -> `EvalResult(metrics, per_image, errors, details)`,
  through the metric family the dataset's spec declares (`scoring.Scorer`: `oks_family`, `pckh_family`)
- `evaluator.location_metrics(...)`: the dataset's location metric alone (the ladder's read-outs)
- `classification` (the ladder's first link) and `error_categories` (keypoint error categories)
- `evaluator.evaluate_command(dataset, ann, pred, head_boxes)` backs `harness evaluate`
- `results.build_results` turns model instances into the standard results format
- `per_image` holds the bootstrap; `response` holds Table 7's response statistics

Import from the modules; this file imports nothing (the report reads `diagnostics` without the
evaluators and their COCO tools).
"""
