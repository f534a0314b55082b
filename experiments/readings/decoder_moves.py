"""Where a trial's responses leave its CAMs, and whether the decoder's own attention is then right:
a probe on finished trials' checkpoints (`response_prior: cam`, beyond the paper).

    OMP_NUM_THREADS=1 python experiments/readings/decoder_moves.py \
        results/run_matrix/screen14/2830799fb3ad results/run_matrix/screen14/e27c2ddf22e4 \
        [more trial folders] [--twin-cache results/.twins]

With the CAM prior the responses are R_k = softmax_p(a_k(p) + log softmax_p S_k(p)): the decoder's
attention logits a_k move each joint's response away from where its class map S_k peaks. Whether
that move pays is the gap between the responses and the CAMs (readings_seeds39: the baseline's
responses leave its CAMs by +0.046, -0.066, -0.015 over seeds 0-2, full LOFR's keep within 0.014).
For each trial, over its validation set as the trial scores it (the flip test, box PCK@0.1 on the
greedily matched annotations, `harness.evaluation.pck_box`), the joints each read-out gets right:

- `responses`, `cams`: the trial's two read-outs (as its metrics.json's `readouts`);
- `attention`: the responses with the CAM prior taken out (the module set to None: R_k =
  softmax_p a_k(p)), i.e. what the decoder localises by itself;
- `mean pose`: the harness's reference (the training crops' mean joint positions);

then, over the visible joints, `gained` (the responses right where the CAMs are wrong) and `lost`
(the reverse), whose difference is the responses' gap over the CAMs, and for each of the two sets
how often the attention alone and the mean pose are right there: a decoder that gains where it is
right by itself adds information of its own; one that gains and loses where the mean pose is
right is a positional prior, paying where the joint sits where joints usually sit. Last, `fixed`:
how often the attention alone lies within the PCK threshold of the mean pose's joint, i.e. how
much of the decoder's attention does not depend on the image; and what the CAMs got wrong where
the responses gain (`gained from`: jitter, inversion to the other side, swap to another person,
miss; `harness.evaluation.error_categories`), and what the responses get wrong where they lose.

Read-only: the trial folders and the twin are only read.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from harness.errors import UserError
from harness.evaluation.files import read_json
from harness.evaluation.error_categories import CATEGORIES, categorise
from harness.evaluation.evaluator import location_per_image
from harness.evaluation.pck_box import THRESHOLD, match_coco, pck_correct
from harness.evaluation.per_image import location_vs_reference
from harness.evaluation.results import build_results
from harness.reference import evaluated_image_ids, mean_pose_predictions
from harness.report.mean_pose import INTERVAL_SEED
from harness.trial.checkpoint import open_finished
from harness.trial.evaluation import predict
from harness.trial.setup import Trial, resolve_dataset

RESAMPLES = 1000  # as the report's intervals against the mean pose (and rescore.py's)


class Moves(NamedTuple):
    """Shares of the visible joints (`visible` of them): each read-out's PCK, the joints the
    responses gain and lose against the CAMs, where the attention alone and the mean pose are
    right among those, and how often the attention alone sits at the mean pose's joint."""
    visible: int
    pck: dict[str, float]
    gained: float
    lost: float
    gained_attention: float
    lost_attention: float
    gained_mean_pose: float
    lost_mean_pose: float
    fixed: float
    gained_from: dict[str, float]
    lost_to: dict[str, float]
    # the attention alone minus the mean pose and its 95 % paired bootstrap interval over the
    # validation images (`location_per_image`, `location_vs_reference`); NaN until `probe` sets it
    attention_vs_mean_pose: tuple[float, float, float] = (float("nan"),) * 3


def tally(correct: dict[str, np.ndarray], visible: np.ndarray, fixed: np.ndarray,
          codes: dict[str, np.ndarray]) -> Moves:
    """correct[read-out] N x K bool (keys responses, cams, attention, mean pose), visible N x K,
    fixed N x K bool (the attention alone within the threshold of the mean pose), codes[read-out]
    N x K error categories of the responses and the CAMs (`harness.evaluation.error_categories`)
    -> `Moves`. gained / lost are shares of the visible joints; the rates among them are shares of
    the gained or lost joints (NaN where there are none); `gained_from` splits the gained joints by
    the CAMs' error there, `lost_to` the lost ones by the responses' error."""
    vis = visible.astype(bool)
    total = int(vis.sum())
    right = {name: c.astype(bool) & vis for name, c in correct.items()}
    gained = right["responses"] & ~right["cams"]
    lost = right["cams"] & ~right["responses"]

    def rate(name: str, where: np.ndarray) -> float:
        n = int(where.sum())
        return float((right[name] & where).sum() / n) if n else float("nan")

    def split(where: np.ndarray, code: np.ndarray) -> dict[str, float]:
        n = int(where.sum())
        return {name: float((where & (code == i)).sum() / n) if n else float("nan")
                for i, name in enumerate(CATEGORIES) if name != "good"}

    return Moves(visible=total, pck={name: float(r.sum() / total) for name, r in right.items()},
                 gained=float(gained.sum() / total), lost=float(lost.sum() / total),
                 gained_attention=rate("attention", gained), lost_attention=rate("attention", lost),
                 gained_mean_pose=rate("mean pose", gained), lost_mean_pose=rate("mean pose", lost),
                 fixed=float((fixed.astype(bool) & vis).sum() / total),
                 gained_from=split(gained, codes["cams"]), lost_to=split(lost, codes["responses"]))


def attention_alone(trial: Trial) -> list[dict]:
    """The trial's `responses` instances (`harness.trial.evaluation.predict`) with the CAM prior
    module set to None, i.e. the decoder's attention alone; the module is put back afterwards."""
    net = trial.net
    prior, net.response_prior = net.response_prior, None
    try:
        return predict(trial).instances["responses"]
    finally:
        net.response_prior = prior


def probe(folder: Path, twin_cache: Path) -> Moves:
    with open_finished(folder, twin_cache) as trial:
        cfg, net, val = trial.cfg, trial.net, trial.val_set
        if net.response_prior is None:
            raise UserError(f"{folder}: the trial has no CAM prior (response_prior: none)")
        spec = val.spec
        with_prior = predict(trial).instances
        alone = attention_alone(trial)
        gt = read_json(val.ann_path, "annotation")
        ids = evaluated_image_ids(val)
        results = {"responses": build_results(with_prior["responses"], spec),
                   "cams": build_results(with_prior["cams"], spec),
                   "attention": build_results(alone, spec),
                   "mean pose": mean_pose_predictions(resolve_dataset(cfg.dataset, twin_cache), cfg.model.input_size,
                                                      cfg.schedule.max_val_instances)[0]}
    matched = {name: match_coco(gt, r, spec.num_joints, ids) for name, r in results.items()}
    first = matched["responses"]
    for name, m in matched.items():  # one annotation order for all (sorted images, then annotations)
        if not np.array_equal(m.image, first.image):
            raise ValueError(f"{folder}: {name} matched other annotations than the responses")
    with np.errstate(invalid="ignore"):  # an unmatched annotation's NaN joints count as wrong
        correct = {name: pck_correct(m.pred, m.gt, m.visible, m.norm) for name, m in matched.items()}
        fixed = pck_correct(matched["attention"].pred, matched["mean pose"].pred, first.visible, first.norm)
    codes = {name: categorise(matched[name], THRESHOLD, spec.flip_pairs) for name in ("responses", "cams")}
    # per image, as the report's intervals resample them (the evaluator's own counts)
    alone = location_per_image(spec, matched["attention"], np.asarray(ids))
    mean_pose = location_per_image(spec, matched["mean pose"], np.asarray(ids))
    interval = location_vs_reference(alone["loc_correct"], mean_pose["loc_correct"], alone["loc_visible"],
                                     n=RESAMPLES, seed=INTERVAL_SEED)
    return tally(correct, first.visible, fixed, codes)._replace(attention_vs_mean_pose=interval)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trials", nargs="+", type=Path)
    ap.add_argument("--twin-cache", type=Path, default=Path("results/.twins"))
    a = ap.parse_args(argv)
    for folder in a.trials:
        try:
            m = probe(folder, a.twin_cache)
        except UserError as err:  # a folder without a checkpoint, config or CAM prior: one line, and stop
            print(err, file=sys.stderr)
            return 2
        print(f"{folder.name}  " + "  ".join(f"{k} {v:.3f}" for k, v in m.pck.items())
              + f"  | gained {m.gained:.3f} (attention right {m.gained_attention:.2f}, mean pose {m.gained_mean_pose:.2f})"
              + f"  lost {m.lost:.3f} (attention right {m.lost_attention:.2f}, mean pose {m.lost_mean_pose:.2f})"
              + f"  | attention at the mean pose {m.fixed:.2f}  ({m.visible} joints)")
        d, lo, hi = m.attention_vs_mean_pose
        print(f"    attention alone - mean pose {d:+.3f} [{lo:+.3f}, {hi:+.3f}] (95 % paired bootstrap over the images)")
        print("    gained from the CAMs' " + ", ".join(f"{k} {v:.2f}" for k, v in m.gained_from.items())
              + "  | lost to the responses' " + ", ".join(f"{k} {v:.2f}" for k, v in m.lost_to.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
