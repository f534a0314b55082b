"""Trials against a mean-pose reference, each and pooled: each read-out's location metric minus the
mean pose's, with the report's paired bootstrap (1000 resamples of the images, seed 0).

    python experiments/readings/pooled.py results/run_matrix/confirm14/references/coco_synth-c2ae6c7af9.npz \
        results/run_matrix/confirm14/e89926c5a5b5 results/rescored/592f0a3e486c-on-confirm14 \
        results/run_matrix/confirm14/bf01f13c0e81

The report pools a row's seeds only over the trials of its results folder; a trial rescored on that
folder's validation twin (`rescore.py`) lives elsewhere, so this is how the log pools a row whose
seeds were trained at two scales. `pooled` averages the trials' correct counts per image (the
report's row against the mean pose). Every trial must have been scored on the reference's images.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from harness.evaluation.per_image import location_vs_reference
from harness.record import READOUTS
from harness.report.mean_pose import INTERVAL_SEED, correct_key

RESAMPLES = 1000  # as the report's intervals against the mean pose


def against(reference: dict, trials: list[dict]) -> list[tuple[str, str, float, float, float, float]]:
    """[(trial or "pooled", read-out, value, delta, low, high)] for the read-outs every trial has."""
    ids, visible = reference["image_ids"], reference["loc_visible"]
    for t in trials:
        if not (np.array_equal(t["image_ids"], ids) and np.array_equal(t["loc_visible"], visible)):
            raise ValueError("a trial was not scored on the reference's images and joints")
    rows = []
    for name in READOUTS:
        key = correct_key(name)
        if not all(key in t for t in trials):
            continue
        lines = [np.asarray(t[key]) for t in trials]
        for label, counts in [(str(i), c) for i, c in enumerate(lines)] + [("pooled", np.stack(lines))]:
            value = float(np.atleast_2d(counts).mean(axis=0).sum() / visible.sum())
            d, lo, hi = location_vs_reference(counts, reference["loc_correct"], visible, n=RESAMPLES,
                                              seed=INTERVAL_SEED)
            rows.append((label, name, value, d, lo, hi))
    return rows


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: pooled.py <reference .npz> <trial folder> [more trial folders]", file=sys.stderr)
        return 2
    ref_path, folders = Path(argv[0]), [Path(a) for a in argv[1:]]
    for path in [ref_path] + [f / "per_image.npz" for f in folders]:
        if not path.is_file():
            print(f"{path}: not found", file=sys.stderr)
            return 2
    reference = dict(np.load(ref_path))
    trials = [dict(np.load(f / "per_image.npz")) for f in folders]
    try:
        rows = against(reference, trials)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    names = {str(i): f.name for i, f in enumerate(folders)} | {"pooled": f"pooled ({len(folders)})"}
    for label, name, value, d, lo, hi in rows:
        print(f"{names[label]:<28} {name:<13} {value:.3f}  - mean pose {d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
