"""A finished trial's network scored on another trial's validation set: the same weights, other
images (read-only on both trials).

    OMP_NUM_THREADS=1 python experiments/readings/rescore.py results/run_matrix/confirm14/8d7a862d5cbb \
        --on results/run_matrix/screen14/8102dd96a676 --out results/rescored/8d7a862d5cbb-on-screen14

The validation twins of two scales differ only in their validation seed (`twin_val_seed`); a trial's
training does not read its validation images, so a trial trained at one scale and scored on
another's validation twin is the trial that scale would have trained (same config but the
validation seed, same seed, same numbers). The readings study uses it to pair a row of one round
with a seed another round ran elsewhere (confirmation 2's seed 1 on the screening twin) without
training it again.

`--out` gets what a trial's final evaluation writes (predictions.json, per_image.npz, maps.npz,
prototypes.npz) and a metrics.json with status "rescored", the config scored (the trained config
with the other trial's dataset) and the trained folder and id. It prints each read-out's location
metric against the mean pose of the other trial's results folder (its `references/*.npz` on the
same images; the report's paired bootstrap, 1000 resamples, seed 0) and against the other trial
(`versus.py`'s figures). A folder without a checkpoint, or another dataset kind, is one line, exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from harness.atomic import atomic_write
from harness.errors import UserError
from harness.evaluation.per_image import location_vs_reference
from harness.record import READOUTS
from harness.report.mean_pose import INTERVAL_SEED, correct_key
from harness.trial.checkpoint import open_finished
from harness.trial.config_file import load_trial_config
from harness.trial.evaluation import evaluate

RESAMPLES = 1000  # as the report's intervals against the mean pose


def rescore(trained: Path, on: Path, out: Path, twin_cache: Path) -> dict:
    """Score `trained`'s checkpoint on `on`'s validation set; write `out`; return its metrics.json."""
    dataset = load_trial_config(on / "metrics.json").dataset
    out.mkdir(parents=True, exist_ok=True)
    with open_finished(trained, twin_cache, dataset=dataset) as trial:
        trial.out = out  # the evaluation's files go to `out`, never to the trained folder
        ev = evaluate(trial, keep_artifacts=True)
        record = {"status": "rescored", "config": trial.cfg.to_dict(), "trained": str(trained),
                  "trained_id": load_trial_config(trained / "metrics.json").trial_id(), "epoch": trial.epoch,
                  "metrics": ev.metrics, "readouts": ev.readouts, "diagnostics": ev.diagnostics}
    atomic_write(out / "metrics.json", lambda fh: json.dump(record, fh, indent=1))
    return record


def reference_of(on: Path, image_ids: np.ndarray) -> dict[str, np.ndarray] | None:
    """The mean-pose per-image counts beside `on` (its results folder's references/) on these images."""
    for path in sorted((on.parent / "references").glob("*.npz")):
        with np.load(path) as ref:
            if "loc_correct" in ref.files and np.array_equal(ref["image_ids"], image_ids):
                return {k: ref[k] for k in ref.files}
    return None


def lines(out: Path, on: Path) -> list[str]:
    """The printed figures: each read-out, minus the mean pose and minus the other trial."""
    mine, theirs = np.load(out / "per_image.npz"), np.load(on / "per_image.npz")
    ref = reference_of(on, mine["image_ids"])
    visible = mine["loc_visible"]
    text = []
    for name in READOUTS:
        key = correct_key(name)
        if key not in mine.files:
            continue
        value = mine[key].sum() / max(visible.sum(), 1)
        parts = [f"{name:<13} {value:.3f}"]
        if ref is not None:
            d, lo, hi = location_vs_reference(mine[key], ref["loc_correct"], ref["loc_visible"],
                                              n=RESAMPLES, seed=INTERVAL_SEED)
            parts.append(f"- mean pose {d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        if key in theirs.files and np.array_equal(theirs["image_ids"], mine["image_ids"]):
            d, lo, hi = location_vs_reference(mine[key], theirs[key], visible, n=RESAMPLES, seed=INTERVAL_SEED)
            parts.append(f"- {on.name} {d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        text.append("  ".join(parts))
    if ref is None:
        text.append(f"(no mean-pose reference on these images under {on.parent / 'references'})")
    return text


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trained", type=Path, help="the finished trial folder whose network is scored")
    ap.add_argument("--on", type=Path, required=True, help="a trial folder whose validation set scores it")
    ap.add_argument("--out", type=Path, required=True, help="where the evaluation's files go")
    ap.add_argument("--twin-cache", type=Path, default=Path("results/.twins"))
    a = ap.parse_args(argv)
    try:
        record = rescore(a.trained, a.on, a.out, a.twin_cache)
    except UserError as err:  # a folder without a checkpoint or config, another kind: one line
        print(err, file=sys.stderr)
        return 2
    print(f"{record['trained_id']} (epoch {record['epoch']}) on the validation set of {a.on} -> {a.out}")
    for line in lines(a.out, a.on):
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
