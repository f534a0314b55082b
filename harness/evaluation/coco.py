"""The COCO and CrowdPose keypoint AP protocols: thin wrappers around pycocotools / xtcocotools.

Both take the dataset's OKS sigmas (`KeypointSpec.sigmas`) and name the per-image arrays by its
kind; which protocol scores a dataset is its spec's `OksAP(crowd=...)`.

COCO: pycocotools ``COCOeval(gt, dt, 'keypoints')`` with ``params.kpt_oks_sigmas`` set to the
dataset's (COCO's are pycocotools' own); ``stats`` order AP, AP .5, AP .75,
AP (M), AP (L), AR, AR .5, AR .75, AR (M), AR (L).

CrowdPose: xtcocotools ``COCOeval(gt, dt, 'keypoints_crowd', sigmas, use_area=False)``. Its
``summarize`` (``_summarizeKps_crowd`` in xtcocotools 1.14) fills ``stats`` as AP, AP .5, AP .75,
AR, AR .5, AR .75, then AP(E), AP(M), AP(H) from ``get_type_result(first=0.2, second=0.8)``
(crowdIndex < 0.2 easy, < 0.8 medium, else hard; those three are rounded to 4 decimals by
xtcocotools itself). A split without images comes out as -1 there; we report every -1 as
``None`` (undefined), never as a score.

`image_ids` restricts the evaluation to those images (`params.imgIds`): a run that predicts a
capped subset of the validation images (smaller scales) is scored on those images only, not
charged with misses on images it never looked at.

The libraries print; their stdout is swallowed here.
"""
from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path
from typing import Any

import numpy as np

from harness.evaluation.per_image import from_coco_eval

COCO_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")
CROWDPOSE_NAMES = ("AP", "AP .5", "AP .75", "AR", "AR .5", "AR .75", "AP(E)", "AP(M)", "AP(H)")


def _load_results(lib_coco_cls, gt, preds: list[dict[str, Any]]):
    """`gt.loadRes(preds)`, also for an empty list (the libraries index `anns[0]` and crash)."""
    if preds:
        return gt.loadRes(copy.deepcopy(preds))  # loadRes writes id/area/bbox into the dicts
    res = lib_coco_cls()
    res.dataset["images"] = list(gt.dataset["images"])
    res.dataset["categories"] = copy.deepcopy(gt.dataset["categories"])
    res.dataset["annotations"] = []
    res.createIndex()
    if isinstance(getattr(gt, "anno_file", None), list) and len(gt.anno_file) == 1:
        # xtcocotools' loadRes records the results source beside the gt path; the crowd
        # summary unpacks both, so an empty result set records "none" the same way.
        gt.anno_file.append(None)
    return res


def _as_metrics(names: tuple[str, ...], stats) -> dict[str, float | None]:
    # COCOeval writes -1 where a metric is undefined (no ground truth in that range/split).
    return {n: (None if float(s) < 0 else float(s)) for n, s in zip(names, stats)}


def evaluate_coco(ann_path: str | Path, preds: list[dict[str, Any]], sigmas: tuple[float, ...], kind: str,
                  image_ids: list[int] | None = None) -> tuple[dict, dict]:
    """pycocotools keypoint evaluation with `sigmas` -> (metrics by name, per-image arrays of `kind`)."""
    # deferred: the location metrics, the GPU check and the report need no pycocotools
    from pycocotools import coco, cocoeval

    COCO, COCOeval = coco.COCO, cocoeval.COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_path))
        dt = _load_results(COCO, gt, preds)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.kpt_oks_sigmas = np.array(sigmas)
        if image_ids is not None:
            ev.params.imgIds = sorted(image_ids)
        ev.evaluate()
        ev.accumulate()
        per_image = from_coco_eval(kind, ev, unmatched=0)  # pycocotools: 0 = no ground truth matched
        ev.summarize()
    return _as_metrics(COCO_NAMES, ev.stats), per_image


def evaluate_crowdpose(ann_path: str | Path, preds: list[dict[str, Any]], sigmas: tuple[float, ...], kind: str,
                       image_ids: list[int] | None = None) -> tuple[dict, dict]:
    """xtcocotools 'keypoints_crowd' evaluation with `sigmas` -> (metrics by name, per-image arrays of `kind`)."""
    # deferred: only CrowdPose's AP needs xtcocotools (its wheel is built from source)
    from xtcocotools import coco, cocoeval

    COCO, COCOeval = coco.COCO, cocoeval.COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_path))  # built from the path: the crowd summary re-reads the file
        dt = _load_results(COCO, gt, preds)
        ev = COCOeval(gt, dt, "keypoints_crowd", np.array(sigmas), use_area=False)
        if image_ids is not None:
            ev.params.imgIds = sorted(image_ids)
        ev.evaluate()
        ev.accumulate()
        # Before summarize(): its easy/medium/hard pass overwrites evalImgs.
        per_image = from_coco_eval(kind, ev, unmatched=-1)  # xtcocotools: -1 = no ground truth matched
        ev.summarize()
    return _as_metrics(CROWDPOSE_NAMES, ev.stats), per_image
