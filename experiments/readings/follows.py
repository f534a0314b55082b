"""Whether a trial's CAM and response peaks follow the person in the crop or sit where joints sit
on average: a probe on a finished trial's checkpoint (read-only).

    OMP_NUM_THREADS=1 python experiments/readings/follows.py results/run_matrix/screen10/5211d3bc8351 \
        [more trial folders] [--twin-cache results/.twins]

A map that learned a location prior only (where the ankle is in most crops) scores the mean pose's
PCK whatever the image; one that localises scores above it. For each read-out (CAMs, responses)
over the validation crops (no flip) and the joints the crop shows (labelled, inside the crop), it
prints, in crop pixels with one threshold for all crops (0.1 x the crop height / 1.25, the box's
height when the box is the taller side: a crop-space PCK, not the report's box PCK):

- `own`: the PCK of each crop's own peaks;
- `other`: the PCK when each crop is given another crop's peaks (a random derangement, mean of
  20): the maps' placements with the image's content taken away;
- `placement`: the PCK of each joint's mean peak position given to every crop (the read-out's
  own average placement, a mean pose of its peaks);
- `offset`: the length of each joint's mean peak-minus-joint vector, in units of the threshold,
  the median over joints: a systematic displacement (a class map peaking on the evidence for a
  joint, a limb or the head, beside the joint itself) reads above 1;
- `swap`: over the left/right pairs both shown in a crop, the share of peaks nearer the other
  side's joint than their own (0 for maps that tell left from right, about 0.5 for maps that
  peak on either side alike);
- `either`: the PCK where a peak on the mirror joint counts too (an upper bound on what telling
  left from right would add; unpaired joints as in `own`);
- `corr`: the Pearson correlation, across crops, of each joint's peak x (and y) with the joint's
  x (and y), the median over joints and both axes: 0 for a fixed placement, 1 for a perfect one;
- and once per trial `mean pose`: the PCK of the validation crops' own mean joint positions (an
  oracle mean, drawn from the same crops: the report's mean pose comes from the training set),
  with its `swap` and `either` (people seen from the back have their sides mirrored), and
  `one-sided`: the share of (crop, pair) cases with exactly one side shown, where the image-level
  labels themselves tell the sides apart.

With `--per-joint`, each joint's CAM offset (dx, dy: mean peak minus joint, in thresholds, + right
and down in the crop), and its `own` and `mean pose` PCK.

`corr` well above 0 says the peaks move with the person; `own` above `placement` says that
moving pays (the peaks' spread around their mean is more signal than noise); `own` at or below
`placement` says the maps carry less about the person than a fixed placement costs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from harness.data.collate import collate_eval
from harness.data.boxes import PADDING as BOX_PADDING  # the crop is the box padded by 1.25
from harness.evaluation.diagnostics import peak_positions
from harness.evaluation.pck_box import THRESHOLD, pck_correct
from harness.errors import UserError
from harness.trial.checkpoint import open_finished
from models.response_merge import RESPONSE_STRIDE

DERANGEMENTS = 20


def crop_pck(pred: np.ndarray, gt: np.ndarray, shown: np.ndarray, height: int) -> float:
    """N x K x 2 peaks and joints (crop px), N x K shown -> PCK at THRESHOLD x height / padding."""
    norm = np.full(len(gt), height / BOX_PADDING)
    return float(pck_correct(pred, gt, shown, norm).sum() / max(shown.sum(), 1))


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation of range(n) with no fixed point (rejection: about e tries on average)."""
    while True:
        p = rng.permutation(n)
        if not np.any(p == np.arange(n)):
            return p


def follow_corr(pred: np.ndarray, gt: np.ndarray, shown: np.ndarray) -> float:
    """The median over joints and axes of the across-crop correlation of peak and joint coordinate
    (joints shown in fewer than 10 crops, or with a constant peak, count as 0)."""
    values = []
    for k in range(gt.shape[1]):
        m = shown[:, k]
        for axis in (0, 1):
            p, g = pred[m, k, axis], gt[m, k, axis]
            ok = m.sum() >= 10 and np.ptp(p) > 0 and np.ptp(g) > 0  # ptp: exact for a constant
            values.append(float(np.corrcoef(p, g)[0, 1]) if ok else 0.0)
    return float(np.median(values))


def mean_offset(pred: np.ndarray, gt: np.ndarray, shown: np.ndarray, height: int) -> float:
    """The median over joints of |mean over crops of (peak - joint)| / threshold (module docstring)."""
    threshold = THRESHOLD * height / BOX_PADDING
    lengths = [np.linalg.norm((pred[shown[:, k], k] - gt[shown[:, k], k]).mean(axis=0)) / threshold
               for k in range(gt.shape[1]) if shown[:, k].any()]
    return float(np.median(lengths))


def swap_share(pred: np.ndarray, gt: np.ndarray, shown: np.ndarray, pairs) -> float:
    """The share of peaks nearer their mirror joint than their own, over the (left, right) pairs
    both shown in a crop, both peaks of a pair counted (NaN when no pair is shown)."""
    nearer, total = 0, 0
    for a, b in pairs:
        m = shown[:, a] & shown[:, b]
        for own, other in ((a, b), (b, a)):
            d_own = np.linalg.norm(pred[m, own] - gt[m, own], axis=-1)
            d_other = np.linalg.norm(pred[m, own] - gt[m, other], axis=-1)
            nearer += int((d_other < d_own).sum())
            total += int(m.sum())
    return nearer / total if total else float("nan")


def one_sided_share(shown: np.ndarray, pairs) -> float:
    """The share of (crop, left/right pair) cases with exactly one of the two joints shown."""
    return float(np.mean([shown[:, a] != shown[:, b] for a, b in pairs]))


def either_side_pck(pred: np.ndarray, gt: np.ndarray, shown: np.ndarray, pairs, height: int) -> float:
    """`crop_pck` where a peak within the threshold of its mirror joint (shown) counts as well."""
    norm = np.full(len(gt), height / BOX_PADDING)
    hit = pck_correct(pred, gt, shown, norm)
    for a, b in pairs:
        for own, other in ((a, b), (b, a)):
            mirror = pck_correct(pred[:, [own]], gt[:, [other]], shown[:, [other]], norm)[:, 0]
            hit[:, own] |= mirror & shown[:, own]
    return float(hit.sum() / max(shown.sum(), 1))


def per_joint(pred: np.ndarray, gt: np.ndarray, shown: np.ndarray, height: int) -> np.ndarray:
    """K x 4: the mean (peak - joint) x and y in thresholds, the peaks' PCK and the (oracle) mean
    pose's PCK, per joint (NaN for a joint no crop shows)."""
    threshold = THRESHOLD * height / BOX_PADDING
    rows = []
    for k in range(gt.shape[1]):
        m = shown[:, k]
        if not m.any():
            rows.append([np.nan] * 4)
            continue
        d = (pred[m, k] - gt[m, k]).mean(axis=0) / threshold
        near = np.linalg.norm(pred[m, k] - gt[m, k], axis=-1) <= threshold
        near_mean = np.linalg.norm(gt[m, k].mean(axis=0) - gt[m, k], axis=-1) <= threshold
        rows.append([d[0], d[1], near.mean(), near_mean.mean()])
    return np.array(rows)


def probe(folder: Path, twin_cache: Path) -> tuple[dict[str, dict[str, float]], list[str], np.ndarray]:
    with open_finished(folder, twin_cache) as trial:
        cfg, net = trial.cfg, trial.net
        names, pairs = list(trial.spec.joints), list(trial.spec.flip_pairs)
        cams, responses, joints = [], [], []
        with torch.no_grad():
            for batch in torch.utils.data.DataLoader(trial.val_set, batch_size=64, collate_fn=collate_eval):
                out = net(batch["image"])
                cams.append(out["cams"].numpy())
                responses.append(out["responses"].numpy())
                joints.append(batch["meta"]["joints"].numpy())
    height, width = cfg.model.input_size
    j = np.concatenate(joints)
    gt = j[..., :2]
    shown = (j[..., 2] > 0) & (gt[..., 0] >= 0) & (gt[..., 0] < width) & (gt[..., 1] >= 0) & (gt[..., 1] < height)
    rng = np.random.default_rng(0)
    perms = [derangement(len(gt), rng) for _ in range(DERANGEMENTS)]
    figures: dict[str, dict[str, float]] = {}
    for name, maps, stride in (("cams", cams, cfg.model.cam_stride), ("responses", responses, RESPONSE_STRIDE)):
        peaks = peak_positions(np.concatenate(maps), stride)
        figures[name] = {"own": crop_pck(peaks, gt, shown, height),
                         "other": float(np.mean([crop_pck(peaks[p], gt, shown, height) for p in perms])),
                         "placement": crop_pck(np.broadcast_to(peaks.mean(axis=0), gt.shape), gt, shown, height),
                         "offset": mean_offset(peaks, gt, shown, height),
                         "swap": swap_share(peaks, gt, shown, pairs),
                         "either": either_side_pck(peaks, gt, shown, pairs, height),
                         "corr": follow_corr(peaks, gt, shown)}
    mean = np.stack([gt[shown[:, k], k].mean(axis=0) if shown[:, k].any() else np.zeros(2)
                     for k in range(gt.shape[1])])
    mean_pose = np.broadcast_to(mean, gt.shape)
    figures["mean pose"] = {"own": crop_pck(mean_pose, gt, shown, height),
                            "swap": swap_share(mean_pose, gt, shown, pairs),
                            "either": either_side_pck(mean_pose, gt, shown, pairs, height),
                            "one-sided": one_sided_share(shown, pairs)}
    cam_peaks = peak_positions(np.concatenate(cams), cfg.model.cam_stride)
    return figures, names, per_joint(cam_peaks, gt, shown, height)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trials", nargs="+", type=Path)
    ap.add_argument("--twin-cache", type=Path, default=Path("results/.twins"))
    ap.add_argument("--per-joint", action="store_true", help="each joint's CAM offset and PCK")
    a = ap.parse_args(argv)
    for folder in a.trials:
        try:
            figures, names, joints = probe(folder, a.twin_cache)
        except UserError as err:  # a folder without a checkpoint or config: one line, and stop
            print(err, file=sys.stderr)
            return 2
        parts = [f"{name}: " + " ".join(f"{k} {v:.3f}" for k, v in values.items()) for name, values in figures.items()]
        print(folder.name + "  " + "  |  ".join(parts))
        if a.per_joint:
            print(f"  {'joint':<16}{'CAM dx':>8}{'dy':>7}{'CAM PCK':>9}{'mean pose':>11}")
            for name, (dx, dy, own, mean) in zip(names, joints):
                print(f"  {name:<16}{dx:>+8.2f}{dy:>+7.2f}{own:>9.3f}{mean:>11.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
