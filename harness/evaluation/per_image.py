"""Per-image evaluation results and the bootstrap that resamples them.

The report's confidence intervals resample validation images with replacement. Re-running
COCOeval a thousand times is slow, so the evaluators keep what the primary metric needs per
image, and `score_subset` recomputes the metric on any resample with plain numpy (through the
metric family of the dataset named by ``kind``: `harness.evaluation.scoring.Scorer`):

- OKS AP, e.g. COCO / CrowdPose (from ``COCOeval.evalImgs``, area ``all``, maxDets 20): ``kind``,
  ``image_ids`` (N), ``dt_image`` (D, index into image_ids, non-decreasing), ``dt_score`` (D),
  ``dt_matched`` (TxD bool), ``dt_ignore`` (TxD bool), ``gt_count`` (N, non-ignored ground
  truths per image), ``iou_thrs`` (T). The detections of each image are stored in the order
  COCOeval keeps them (score-sorted by a stable sort), so that the stable merge sort of
  ``COCOeval.accumulate`` sees the same ties in the same order.
- PCKh, e.g. MPII: ``kind``, ``image_ids`` (N, the annotation indices), ``correct`` (NxK bool,
  PCKh@0.5), ``correct01`` (NxK bool, PCKh@0.1), ``visible`` (NxK bool).

`score_subset(per_image, arange(N))` equals the evaluator's AP / PCKh Mean (tests check 1e-9).

Every kind also has the location metric's counts per image (`harness.evaluation.evaluator`):
``loc_correct``, ``loc_visible`` (N), and a trial's other read-outs' ``<read-out>_loc_correct``;
the location metric of a resample ``idx`` is ``sum(loc_correct[idx]) / sum(loc_visible[idx])``,
and `location_vs_reference` is the paired bootstrap of a row against the mean pose on it. A
location-only evaluation (scripts/gpu_seeds.py, no pycocotools) keeps these counts alone, without
``kind``: `load_per_image` reads it, and `kind_of` (so `score_subset`) raises ValueError on it.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from harness.atomic import atomic_write
from harness.data.specs import SPECS
from harness.errors import UserError

# COCOeval's recall thresholds 0:.01:1 (built the same way, so the values are bit-identical).
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AP_KEYS = ("kind", "image_ids", "dt_image", "dt_score", "dt_matched", "dt_ignore", "gt_count", "iou_thrs")
PCKH_KEYS = ("kind", "image_ids", "correct", "correct01", "visible")
LOCATION_KEYS = ("image_ids", "loc_correct", "loc_visible")


def kind_of(per_image: dict) -> str:
    """The dataset kind whose metric family scores the primary metric's arrays; a location-only
    evaluation (scripts/gpu_seeds.py) has none, a ValueError the report's intervals turn into a note."""
    if "kind" not in per_image:
        raise ValueError("a location-only evaluation has no primary-metric arrays")
    return str(np.asarray(per_image["kind"]))


def from_coco_eval(kind: str, coco_eval, unmatched: int, max_det: int = 20) -> dict[str, np.ndarray]:
    """Extract the per-image arrays from an evaluated (`evaluate()` run) COCOeval object.

    `unmatched`: what the library writes in dtMatches for a detection without a match
    (pycocotools 0, xtcocotools' crowd protocol -1); `kind`: the dataset's, stored with the arrays.
    Call it before `summarize()`: xtcocotools' crowd summary re-runs `evaluate` on its
    easy/medium/hard splits and overwrites `evalImgs`.
    """
    p = coco_eval.params
    img_ids = list(p.imgIds)
    n_img, n_area = len(img_ids), len(p.areaRng)
    cat_ids = list(p.catIds) if p.useCats else [-1]
    k0 = cat_ids.index(1) if 1 in cat_ids else 0
    a0 = [list(a) for a in p.areaRng].index([0 ** 2, 1e5 ** 2])  # area "all"
    block = coco_eval.evalImgs[k0 * n_area * n_img + a0 * n_img: k0 * n_area * n_img + (a0 + 1) * n_img]
    t = len(p.iouThrs)
    dt_image, dt_score, dt_matched, dt_ignore = [], [], [], []
    gt_count = np.zeros(n_img, dtype=np.int64)
    for i, e in enumerate(block):
        if e is None:
            continue
        if e["image_id"] != img_ids[i]:
            raise RuntimeError("COCOeval.evalImgs is not in the expected order")
        scores = np.asarray(e["dtScores"][0:max_det], dtype=np.float64)
        dt_image.append(np.full(len(scores), i, dtype=np.int64))
        dt_score.append(scores)
        dtm = np.asarray(e["dtMatches"]).reshape(t, -1)[:, 0:max_det]
        dt_matched.append(dtm != unmatched)
        dt_ignore.append(np.asarray(e["dtIgnore"]).reshape(t, -1)[:, 0:max_det].astype(bool))
        gt_count[i] = int(np.count_nonzero(np.asarray(e["gtIgnore"]) == 0))
    return {
        "kind": np.array(kind),
        "image_ids": np.asarray(img_ids, dtype=np.int64),
        "dt_image": np.concatenate(dt_image) if dt_image else np.zeros(0, np.int64),
        "dt_score": np.concatenate(dt_score) if dt_score else np.zeros(0, np.float64),
        "dt_matched": np.concatenate(dt_matched, axis=1) if dt_matched else np.zeros((t, 0), bool),
        "dt_ignore": np.concatenate(dt_ignore, axis=1) if dt_ignore else np.zeros((t, 0), bool),
        "gt_count": gt_count,
        "iou_thrs": np.asarray(p.iouThrs, dtype=np.float64),
    }


def _gather_detections(per_image: dict, idx: np.ndarray) -> np.ndarray:
    """Indices of the detections of images `idx`, image after image in the order of `idx`."""
    n = len(per_image["image_ids"])
    counts = np.bincount(per_image["dt_image"], minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    lens = counts[idx]
    offsets = np.cumsum(lens) - lens
    total = int(lens.sum())
    return np.arange(total) - np.repeat(offsets, lens) + np.repeat(starts[idx], lens)


def coco_ap(per_image: dict, idx: np.ndarray) -> float:
    """AP@[.5:.95] (area all, maxDets 20) on images `idx`, as COCOeval.accumulate + summarize.

    NaN where COCOeval gives -1 (no non-ignored ground truth in the subset).
    """
    npig = int(per_image["gt_count"][idx].sum())
    if npig == 0:
        return float("nan")
    sel = _gather_detections(per_image, idx)
    scores = per_image["dt_score"][sel]
    order = np.argsort(-scores, kind="mergesort")  # COCOeval's stable sort, same tie order
    matched = per_image["dt_matched"][:, sel][:, order]
    ignore = per_image["dt_ignore"][:, sel][:, order]
    tp_sum = np.cumsum(matched & ~ignore, axis=1).astype(np.float64)
    fp_sum = np.cumsum(~matched & ~ignore, axis=1).astype(np.float64)
    n_thr = tp_sum.shape[0]
    precision = np.zeros((n_thr, len(REC_THRS)))
    nd = tp_sum.shape[1]
    if nd:
        rc = tp_sum / npig
        pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
        # Precision made monotone from the right (COCOeval's backward loop).
        pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
        for t in range(n_thr):
            inds = np.searchsorted(rc[t], REC_THRS, side="left")
            ok = inds < nd  # COCOeval leaves 0 beyond the last recall reached
            precision[t, ok] = pr[t, inds[ok]]
    return float(np.mean(precision.ravel()))


def pckh_mean(per_image: dict, idx: np.ndarray, mean_joints: tuple[int, ...], key: str = "correct") -> float:
    """PCKh Mean over the joints `mean_joints` on annotations `idx`; NaN if no visible joint."""
    cols = list(mean_joints)
    vis = per_image["visible"][idx][:, cols]
    total = int(vis.sum())
    if total == 0:
        return float("nan")
    hits = per_image[key][idx][:, cols] & vis
    return float(hits.sum() / total)


def score_subset(per_image: dict, idx: np.ndarray) -> float:
    """The primary metric (AP, or PCKh Mean) on the image resample `idx` (repeats allowed)."""
    idx = np.asarray(idx, dtype=np.int64)
    kind = kind_of(per_image)
    if kind not in SPECS:
        raise ValueError(f"unknown per-image kind {kind!r}")
    spec = SPECS[kind]
    return spec.evaluator.scorer().score_subset(spec, per_image, idx)


def paired_bootstrap(per_image_a: dict, per_image_b: dict, n: int = 1000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Primary-metric difference b - a and its 95 % percentile interval over `n` paired resamples.

    Both runs are resampled with the same image indices, so image difficulty cancels out.
    Resamples where the metric is undefined (no ground truth drawn) are left out.
    """
    if kind_of(per_image_a) != kind_of(per_image_b):
        raise ValueError(f"per-image kinds differ: {kind_of(per_image_a)} vs {kind_of(per_image_b)}")
    ids_a, ids_b = np.asarray(per_image_a["image_ids"]), np.asarray(per_image_b["image_ids"])
    if ids_a.shape != ids_b.shape or not np.array_equal(ids_a, ids_b):
        raise ValueError("paired bootstrap needs both runs evaluated on the same images")
    n_img = len(ids_a)
    full = np.arange(n_img)
    delta = score_subset(per_image_b, full) - score_subset(per_image_a, full)
    rng = np.random.default_rng(seed)
    deltas = np.empty(n)
    for i in range(n):
        idx = rng.integers(0, n_img, size=n_img)
        deltas[i] = score_subset(per_image_b, idx) - score_subset(per_image_a, idx)
    deltas = deltas[~np.isnan(deltas)]
    if deltas.size == 0:
        return float(delta), float("nan"), float("nan")
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    return float(delta), float(lo), float(hi)


def location_vs_reference(row_correct: np.ndarray, ref_correct: np.ndarray, visible: np.ndarray,
                          n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """A row's location metric minus the reference's (the mean pose), and its 95 % percentile
    interval over `n` paired resamples of the images.

    row_correct: S x N correct counts per image, one line per seed (the row's metric is the mean
    over its seeds; the visible counts are the ground truth's, the same for every seed), or N;
    ref_correct, visible: N. Each resample draws N images with replacement (the same draw for the
    row and the reference) and recomputes sum(correct) / sum(visible) for both; resamples without
    a visible joint are left out. Returns (point, low, high); low/high NaN without any resample.
    """
    rc = np.atleast_2d(np.asarray(row_correct, dtype=np.float64)).mean(axis=0)
    ref = np.asarray(ref_correct, dtype=np.float64)
    vis = np.asarray(visible, dtype=np.float64)
    if not (rc.shape == ref.shape == vis.shape):
        raise ValueError(f"per-image counts differ in length: {rc.shape}, {ref.shape}, {vis.shape}")
    if vis.sum() == 0:
        return float("nan"), float("nan"), float("nan")
    point = float((rc.sum() - ref.sum()) / vis.sum())
    idx = np.random.default_rng(seed).integers(0, len(vis), size=(n, len(vis)))
    total = vis[idx].sum(axis=1)
    ok = total > 0
    deltas = (rc[idx].sum(axis=1) - ref[idx].sum(axis=1))[ok] / total[ok]
    if deltas.size == 0:
        return point, float("nan"), float("nan")
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    return point, float(lo), float(hi)


def save_per_image(path: str | Path, per_image: dict) -> Path:
    """Write the per-image arrays as an .npz atomically (no pickled objects)."""
    arrays = {k: np.asarray(v) for k, v in per_image.items()}
    return atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays), mode="wb")


def load_per_image(path: str | Path) -> dict[str, np.ndarray]:
    """Read what `save_per_image` wrote; a missing or malformed file is a `UserError`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: per-image file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a per-image .npz file ({exc})") from None
    if "kind" not in data:
        if "loc_correct" in data:  # `location_only` evaluations (scripts/gpu_seeds.py) keep no AP arrays
            missing = [k for k in LOCATION_KEYS if k not in data]
            if missing:
                raise UserError(f"{path}: location-only per-image file lacks {', '.join(missing)}")
            return data
        raise UserError(f"{path}: per-image file has no 'kind' array")
    kind = kind_of(data)
    if kind not in SPECS:
        raise UserError(f"{path}: unknown per-image kind {kind!r}")
    missing = [k for k in SPECS[kind].evaluator.scorer().per_image_keys if k not in data]
    if missing:
        raise UserError(f"{path}: per-image file lacks {', '.join(missing)}")
    return data
