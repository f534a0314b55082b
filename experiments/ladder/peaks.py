"""Where a probe's read-outs peak, per joint, against where the joints are (a ladder diagnostic).

    OMP_NUM_THREADS=1 python experiments/ladder/peaks.py experiments/ladder/<probe>.yaml results/probes/<probe> [--twin-cache DIR]

Loads the probe's last checkpoint, runs its validation crops (no flip test) and prints, for each
joint, the mean ground-truth position of its visible instances and the mean decoded position of
the `cams` and `responses` read-outs, in crop pixels, with the median distance. A map that peaks
where the joint is not (e.g. a head map peaking at the bottom of the crop) shows here at once.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from harness.data.collate import collate_eval
from harness.trial import Trial, load_trial_config
from harness.trial.checkpoint import load_checkpoint
from harness.trial.readouts import readout_maps
from models.decode import decode_responses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("out")
    ap.add_argument("--twin-cache", default="results/.twins")
    args = ap.parse_args()
    cfg = load_trial_config(Path(args.config))
    trial = Trial(cfg, Path(args.out), Path(args.twin_cache), torch.device("cpu"))
    if not load_checkpoint(trial):
        raise SystemExit(f"{args.out}: no checkpoint.pt")
    trial.net.eval()
    loader = torch.utils.data.DataLoader(trial.val_set, batch_size=64, collate_fn=collate_eval)
    found: dict[str, list[np.ndarray]] = {"cams": [], "responses": []}
    joints = []
    with torch.no_grad():
        for batch in loader:
            maps = readout_maps(trial.net(batch["image"]), None, trial.spec.flip_permutation(),
                                cfg.model.cam_stride, cfg.model.input_size[1])
            for name in found:
                found[name].append(decode_responses(maps[name], cfg.model.input_size)[..., :2].numpy())
            joints.append(batch["meta"]["joints"].numpy())
    gt = np.concatenate(joints)
    vis = gt[..., 2] > 0
    print(f"epoch {trial.epoch}, {len(gt)} validation instances; positions (x, y) in crop px of {cfg.model.input_size}")
    print(f"{'joint':16s} {'ground truth':>14s} " + " ".join(f"{n + ' (median err)':>26s}" for n in found))
    for j, name in enumerate(trial.spec.joints):
        cells = [f"{name:16s}", "{:6.1f} {:6.1f} ".format(*gt[vis[:, j], j, :2].mean(axis=0))]
        for kp in found.values():
            kp = np.concatenate(kp)
            err = np.median(np.linalg.norm(kp[vis[:, j], j] - gt[vis[:, j], j, :2], axis=-1))
            cells.append("{:6.1f} {:6.1f} ({:5.1f})      ".format(*kp[vis[:, j], j].mean(axis=0), err))
        print(" ".join(cells))


if __name__ == "__main__":
    main()
