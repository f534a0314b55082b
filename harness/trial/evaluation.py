"""A trial's validation pass and the localisation ladder it measures.

One pass over the validation crops (with the flip test) gives, per instance: the keypoints of each
read-out (`harness.trial.readouts`: responses, cams, product) in image pixels, each logit head's
visibility probabilities and the image-level labels. From them:

- `metrics`: the dataset's evaluator on the responses' keypoints (the paper's output);
- the ladder (issue 16): `classification` (each head's mAP / accuracy against its chance levels,
  `harness.evaluation.classification`), `readouts` (each read-out's location metric, with the
  same instances, flip test and evaluator as `metrics`), `errors` (the keypoint error categories
  of the paper's read-out, `harness.evaluation.error_categories`);
- `diagnostics` (issue 20): why the paper's output does or does not localise
  (`harness.evaluation.diagnostics`), from the unflipped pass's attention, prototypes and part
  features and the flip-tested response and CAM read-outs, over the joints visible in the crop;
- what the report keeps: maps of a few samples, responses at the ground-truth joints.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from harness.cost import autocast_for
from harness.data.transforms import crop_to_image
from harness.evaluation import diagnostics as diag
from harness.evaluation.evaluator import evaluate as evaluate_predictions
from harness.evaluation.evaluator import location_metrics
from harness.evaluation.classification import classification_metrics
from harness.evaluation.response import group_means, joint_responses
from harness.evaluation.results import build_results
from harness.reference import evaluated_image_ids
from harness.trial.artifacts import discard_interim, write_artifacts, write_predictions
from harness.trial.loaders import val_loader
from harness.trial.readouts import HEADS, READOUTS, RESPONSE_STRIDE, SCORED_BY, head_probabilities, readout_maps
from harness.trial.setup import Trial
from models.decode import decode_responses

NUM_MAP_SAMPLES = 8  # fixed validation samples whose CAMs / responses are kept for the report


@dataclass
class Predictions:
    """One validation pass. `instances[readout]`: the evaluator's instance dicts; `labels` N x K
    image-level labels; `probs[head]` N x K; `responses_at_joints` N x K (Table 7)."""

    instances: dict[str, list[dict[str, Any]]]
    labels: np.ndarray
    probs: dict[str, np.ndarray]
    responses_at_joints: np.ndarray
    maps: dict[str, Any] | None
    infer_img_per_s: float
    eval_s: float
    diagnostics: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Evaluation:
    """What one evaluation yields (the trial records it; `curve_point` is its curve entry)."""

    metrics: dict[str, float | None]
    classification: dict[str, dict[str, Any]]
    readouts: dict[str, dict[str, float | None]]
    errors: dict[str, Any]
    infer_img_per_s: float
    eval_s: float
    response_stats: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)  # how the metrics were computed (EvalResult.details)
    diagnostics: dict[str, float | None] = field(default_factory=dict)


@torch.no_grad()
def predict(trial: Trial, keep_maps: bool = False) -> Predictions:
    """Run the validation set (flip test as configured) through the network; see `Predictions`."""
    cfg = trial.cfg
    net = trial.net
    net.eval()
    loader = val_loader(trial.val_set, cfg.schedule.batch_size, trial.num_workers, trial.device)
    perm = trial.spec.flip_permutation()
    instances: dict[str, list] = {name: [] for name in READOUTS}
    labels, probs = [], {h: [] for h in HEADS}
    responses_at_joints = []
    per_instance: dict[str, list] = {"entropy": [], "visible": [], "prototype_cos": [], "part_cos": [],
                                     "agree": [], "agree_shuffled": []}
    maps: dict[str, list] = {"cams": [], "responses": [], "pred": [], "gt": [], "images": [], "sample_index": []}
    n_seen, t0 = 0, time.perf_counter()
    for batch in loader:
        images = batch["image"].to(trial.device, non_blocking=True)
        with autocast_for(trial.device):
            out = net(images)
            flipped = net(torch.flip(images, dims=[3])) if cfg.schedule.flip_test else None
        size = tuple(out["responses"].shape[-2:])
        for o in (out, flipped):
            if o is not None:
                o["token_scores"] = net.token_scores(o["memory"], o["grids"], size)
        read = readout_maps(out, flipped, perm, cfg.model.cam_stride, cfg.model.input_size[1])
        head_probs = head_probabilities(out, flipped, perm)
        # Keypoint scores: the producing head's probabilities on the unflipped image.
        score = {name: torch.sigmoid(out["logits"][SCORED_BY[name]].float()) for name in READOUTS}
        meta = batch["meta"]
        for name in read:
            kpts = decode_responses(read[name], cfg.model.input_size, score[name]).cpu().numpy()
            for i in range(kpts.shape[0]):
                center, scale = meta["center"][i].numpy(), meta["scale"][i].numpy()
                xy = crop_to_image(kpts[i, :, :2], center, scale, cfg.model.input_size)
                instances[name].append({
                    "image_id": int(meta["image_id"][i]), "index": int(meta["index"][i]),
                    "keypoints": np.concatenate([xy, kpts[i, :, 2:3]], axis=1),
                    "box_score": float(meta["score"][i]), "area": float(meta["area"][i]),
                    "center": center, "scale": scale,
                })
            if name == "responses" and keep_maps and n_seen < NUM_MAP_SAMPLES:
                take = min(NUM_MAP_SAMPLES - n_seen, images.shape[0])
                maps["pred"].append(kpts[:take])
        labels.append(batch["labels"].numpy())
        for h in HEADS:
            probs[h].append(head_probs[h].cpu().numpy())
        joints = meta["joints"].numpy()
        _collect_diagnostics(per_instance, out, read, joints, cfg.model.input_size, cfg.model.cam_stride)
        responses = read["responses"]
        responses_at_joints.append(joint_responses(responses.cpu().numpy(), joints, cfg.model.input_size))
        if keep_maps and n_seen < NUM_MAP_SAMPLES:
            take = min(NUM_MAP_SAMPLES - n_seen, images.shape[0])
            maps["cams"].append(out["cams"][:take].float().cpu().numpy())
            maps["responses"].append(responses[:take].cpu().numpy())
            maps["gt"].append(joints[:take])
            maps["images"].append(images[:take].cpu())
            maps["sample_index"].append(meta["index"][:take].numpy())
        n_seen += images.shape[0]
    if trial.device.type == "cuda":
        torch.cuda.synchronize(trial.device)
    elapsed = time.perf_counter() - t0
    passes = 2 if cfg.schedule.flip_test else 1
    k = trial.spec.num_joints
    kept = None
    if keep_maps and maps["images"]:
        # images stay normalised tensors here; artifacts turns them into uint8
        kept = {key: (torch.cat(v) if key == "images" else np.concatenate(v)) for key, v in maps.items() if v}
    return Predictions(
        instances=instances,
        labels=np.concatenate(labels) if labels else np.zeros((0, k)),
        probs={h: (np.concatenate(v) if v else np.zeros((0, k))) for h, v in probs.items()},
        responses_at_joints=np.concatenate(responses_at_joints) if responses_at_joints else np.zeros((0, k)),
        maps=kept, infer_img_per_s=n_seen * passes / max(elapsed, 1e-9), eval_s=elapsed,
        diagnostics=diag.summarise(**{key: np.concatenate(v) if v else np.zeros((0, k))
                                      for key, v in per_instance.items()}))


def _collect_diagnostics(acc: dict[str, list], out: dict, read: dict, joints: np.ndarray,
                         input_size: tuple[int, int], cam_stride: int) -> None:
    """One batch's per-instance diagnostics (`harness.evaluation.diagnostics`) into `acc`."""
    height, width = input_size
    x, y = joints[..., 0], joints[..., 1]
    visible = (joints[..., 2] > 0) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    acc["visible"].append(visible)
    acc["entropy"].append(diag.normalised_entropy(out["attention"].float().cpu().numpy()))
    acc["prototype_cos"].append(diag.mean_abs_cos(out["prototypes"].float().cpu().numpy()))
    acc["part_cos"].append(diag.mean_abs_cos(out["part_features"].float().cpu().numpy()))
    peaks = {name: diag.peak_positions(read[name].cpu().numpy(), RESPONSE_STRIDE) for name in ("responses", "cams")}
    agree, shuffled = diag.peak_agreement(peaks["responses"], peaks["cams"], visible, cam_stride)
    acc["agree"].append(agree)
    acc["agree_shuffled"].append(shuffled)


def evaluate(trial: Trial, keep_artifacts: bool, location_only: bool = False) -> Evaluation:
    """Predict and score the validation set, the ladder included; with `keep_artifacts`, write
    the trial's files (predictions.json, per_image.npz, maps.npz, prototypes.npz).

    `location_only`: the paper's output scored by the dataset's location metric alone, as every
    other read-out is (`location_metrics`), without the OKS AP and its error categories, so that a
    bare machine without pycocotools / xtcocotools evaluates (scripts/gpu_seeds.py); `metrics`
    then holds the location metric only and `details` says so."""
    t0 = time.perf_counter()
    pred = predict(trial, keep_maps=keep_artifacts)
    spec, val = trial.spec, trial.val_set
    image_ids = evaluated_image_ids(val)
    head_boxes = getattr(val, "head_boxes", None)
    results = build_results(pred.instances["responses"], spec)
    pred_path = write_predictions(trial.out, results, interim=not keep_artifacts)
    if location_only:
        ev = location_metrics(spec.name, val.ann_path, results, head_boxes=head_boxes, image_ids=image_ids)
    else:
        ev = evaluate_predictions(spec.name, val.ann_path, results, head_boxes=head_boxes, image_ids=image_ids)
    readouts = {"responses": {spec.location_metric: ev.metrics.get(spec.location_metric)}}
    per_image = dict(ev.per_image)
    for name in [r for r in READOUTS[1:] if pred.instances.get(r)]:
        other = build_results(pred.instances[name], spec)
        loc = location_metrics(spec.name, val.ann_path, other, head_boxes=head_boxes, image_ids=image_ids)
        readouts[name] = loc.metrics
        # the read-out's per-image counts, for intervals against the mean pose (same images, same visible)
        per_image[f"{name}_loc_correct"] = loc.per_image["loc_correct"]
    out = Evaluation(
        metrics=ev.metrics, readouts=readouts, errors=ev.errors, details=ev.details,
        classification={h: classification_metrics(pred.labels, pred.probs[h]) for h in HEADS},
        infer_img_per_s=pred.infer_img_per_s, eval_s=time.perf_counter() - t0,
        diagnostics={**pred.diagnostics, "decoder_weight_norm": decoder_weight_norm(trial.net)})
    if keep_artifacts:
        out.response_stats = group_means(pred.responses_at_joints, spec)
        write_artifacts(trial, per_image, pred.maps)
    else:
        discard_interim(pred_path)
    return out


def curve_point(ev: Evaluation, primary: str, location: str) -> dict[str, Any]:
    """An evaluated epoch's curve entry: `val` {primary, location metric}, the ladder's compact
    form {"mAP": {head: mAP}, "readouts": {read-out: location metric}} and the diagnostics."""
    return {
        "val": {primary: ev.metrics.get(primary), location: ev.metrics.get(location)},
        "ladder": {"mAP": {h: c["mAP"] for h, c in ev.classification.items()},
                   "readouts": {name: r.get(location) for name, r in ev.readouts.items()}},
        "diagnostics": dict(ev.diagnostics),
    }


@torch.no_grad()
def decoder_weight_norm(net: torch.nn.Module) -> float:
    """The L2 norm of all the decoder's parameters together (collapses under the literal decay)."""
    return float(torch.sqrt(sum(p.detach().float().pow(2).sum() for p in net.decoder.parameters())))
