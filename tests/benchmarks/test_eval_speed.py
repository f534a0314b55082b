"""Speed of the evaluators through `harness.evaluation.evaluator.evaluate`, the call every trial makes:
COCO keypoint AP on 1,000 synthetic images, MPII PCKh on 10,000 instances.

Ground truth and predictions are generated here (seeded numpy): people with 17 / 16 joints in
random boxes, predictions = the joints moved by Gaussian noise of a per-person size (so that OKS
and PCKh spread over the whole range), a few false positives on COCO. The ground truth is
written to a temporary JSON file (the evaluator reads its file, as in a trial); the predictions
are the in-memory results list. A round = one `evaluate` call, file parsing included.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.data.specs import SPECS
from harness.evaluation.evaluator import evaluate

COCO_IMAGES = 1_000
MPII_INSTANCES = 10_000
COCO_METRICS = {"AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)", "PCK@0.1"}


def _coco_case(tmp_path: Path, num_images: int) -> tuple[Path, list[dict]]:
    rng = np.random.default_rng(0)
    k = SPECS["coco"].num_joints
    images, anns, preds = [], [], []
    for image_id in range(1, num_images + 1):
        images.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "width": 640, "height": 480})
        for _ in range(rng.integers(1, 4)):
            w, h = rng.uniform(40, 300), rng.uniform(80, 400)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            xy = np.stack([rng.uniform(x, x + w, k), rng.uniform(y, y + h, k)], axis=1)
            v = rng.choice([0, 1, 2], size=k, p=[0.15, 0.1, 0.75])
            kp = np.concatenate([np.where(v[:, None] > 0, xy, 0.0), v[:, None]], axis=1)
            area = 0.6 * w * h
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                         "bbox": [x, y, w, h], "area": area, "num_keypoints": int((v > 0).sum()),
                         "keypoints": kp.ravel().round(2).tolist()})
            noise = rng.normal(0.0, rng.uniform(0.01, 0.15) * np.sqrt(area), size=(k, 2))
            preds.append(_coco_pred(image_id, xy + noise, rng.uniform(0.2, 1.0)))
        if rng.random() < 0.2:  # a false positive
            xy = np.stack([rng.uniform(0, 640, k), rng.uniform(0, 480, k)], axis=1)
            preds.append(_coco_pred(image_id, xy, rng.uniform(0.0, 0.5)))
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": 1, "name": "person", "keypoints": list(SPECS["coco"].joints),
                          "skeleton": [[a + 1, b + 1] for a, b in SPECS["coco"].skeleton]}]}
    path = tmp_path / "person_keypoints_bench.json"
    path.write_text(json.dumps(gt))
    return path, preds


def _coco_pred(image_id: int, xy: np.ndarray, score: float) -> dict:
    kp = np.concatenate([xy, np.full((len(xy), 1), 0.9)], axis=1)
    return {"image_id": image_id, "category_id": 1, "keypoints": kp.ravel().round(2).tolist(), "score": float(score)}


def test_coco_ap(benchmark, figures, tmp_path):
    benchmark.group = "evaluation"
    num_images = 100 if benchmark.disabled else COCO_IMAGES
    ann_path, preds = _coco_case(tmp_path, num_images)

    result = benchmark.pedantic(lambda: evaluate("coco", ann_path, preds), rounds=3, warmup_rounds=0, iterations=1)

    m = result.metrics
    assert set(m) == COCO_METRICS
    assert all(0.0 <= v <= 1.0 for v in m.values() if v is not None)
    assert m["AP .5"] >= m["AP"] >= m["AP .75"]  # AP averages thresholds 0.50..0.95
    assert 0.05 < m["AP"] < 0.95  # the noise spreads OKS over the thresholds
    figures.record(benchmark, "eval/coco-ap", num_images, "images_per_s",
                   value={"instances_per_s": None if benchmark.stats is None else
                          len(preds) / benchmark.stats.stats.median},
                   images=num_images, predictions=len(preds))


def test_mpii_pckh(benchmark, figures, tmp_path):
    benchmark.group = "evaluation"
    n = 1_000 if benchmark.disabled else MPII_INSTANCES
    k = SPECS["mpii"].num_joints
    rng = np.random.default_rng(1)
    centre = rng.uniform(100, 500, size=(n, 1, 2))
    joints = centre + rng.normal(0, 60, size=(n, k, 2))
    vis = (rng.random((n, k)) < 0.85).astype(np.int64)
    head = 0.6 * np.sqrt(2) * np.linalg.norm(joints[:, 9] - joints[:, 8], axis=1)
    pred = joints + rng.normal(0, 1, size=(n, k, 2)) * rng.uniform(0.02, 0.6, size=(n, 1, 1)) * head[:, None, None]
    gt = [{"image": f"{i:09d}.jpg", "center": centre[i, 0].tolist(), "scale": 1.0,
           "joints": joints[i].round(3).tolist(), "joints_vis": vis[i].tolist()} for i in range(n)]
    ann_path = tmp_path / "mpii_bench.json"
    ann_path.write_text(json.dumps(gt))
    preds = [{"index": i, "keypoints": np.concatenate([pred[i], np.ones((k, 1))], axis=1).round(3).tolist()}
             for i in range(n)]

    result = benchmark.pedantic(lambda: evaluate("mpii", ann_path, preds), rounds=5, warmup_rounds=1, iterations=1)

    # PCKh by hand from the same numbers (rounded as written): visible joints, head size from
    # head_top / upper_neck, pelvis and thorax left out of the mean.
    j = np.array([g["joints"] for g in gt])
    p = np.array([[kp[:2] for kp in q["keypoints"]] for q in preds])
    size = 0.6 * np.sqrt(2) * np.linalg.norm(j[:, 9] - j[:, 8], axis=1)
    ok = (vis > 0) & (vis[:, [9]] > 0) & (vis[:, [8]] > 0)
    err = np.linalg.norm(p - j, axis=2) / size[:, None]
    cols = [k for k in range(16) if k not in (6, 7)]  # MPII's Mean: all but pelvis and thorax
    for thr, name in ((0.5, "Mean"), (0.1, "Mean@0.1")):
        expected = ((err <= thr) & ok)[:, cols].sum() / ok[:, cols].sum()
        assert result.metrics[name] == pytest.approx(expected, abs=1e-12)
    assert 0.2 < result.metrics["Mean"] < 0.95
    figures.record(benchmark, "eval/mpii-pckh", n, "instances_per_s", instances=n)
