"""A trial's validation pass: predictions with the flip test, decoded keypoints in image pixels,
the dataset's evaluator on them, and what the report keeps of the pass (maps of a few samples,
responses at the ground-truth joints)."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from harness.cost import autocast_for
from harness.trial.setup import Trial

NUM_MAP_SAMPLES = 8  # fixed validation samples whose CAMs / responses are kept for the report


@torch.no_grad()
def predict(trial: Trial, keep_maps: bool = False) -> dict[str, Any]:
    """Run the validation set (with flip test); return instances, response values, maps."""
    from harness.data import collate_eval
    from harness.data.transforms import crop_to_image
    from harness.evaluation.response import joint_responses
    from models.decode import decode_responses

    cfg = trial.cfg
    net = trial.net
    net.eval()
    loader = torch.utils.data.DataLoader(trial.val_set, batch_size=cfg.schedule.batch_size, shuffle=False,
                                         collate_fn=collate_eval, num_workers=cfg.schedule.num_workers)
    perm = trial.spec.flip_permutation()
    instances, responses_at_joints = [], []
    maps: dict[str, list] = {"cams": [], "responses": [], "pred": [], "gt": [], "images": [], "sample_index": []}
    n_seen, t0 = 0, time.perf_counter()
    for batch in loader:
        images = batch["image"].to(trial.device)
        with autocast_for(trial.device):
            out = net(images)
            responses = out["responses"].float()
            if cfg.schedule.flip_test:
                flipped = net(torch.flip(images, dims=[3]))
                responses = 0.5 * (responses + torch.flip(flipped["responses"].float(), dims=[3])[:, perm])
        probs = torch.sigmoid(out["logits"]["decoder"].float())
        kpts = decode_responses(responses, cfg.model.input_size, probs).cpu().numpy()
        meta = batch["meta"]
        for i in range(kpts.shape[0]):
            center, scale = meta["center"][i].numpy(), meta["scale"][i].numpy()
            xy = crop_to_image(kpts[i, :, :2], center, scale, cfg.model.input_size)
            instances.append({
                "image_id": int(meta["image_id"][i]), "index": int(meta["index"][i]),
                "keypoints": np.concatenate([xy, kpts[i, :, 2:3]], axis=1),
                "box_score": float(meta["score"][i]), "area": float(meta["area"][i]),
                "center": center, "scale": scale,
            })
        joints = meta["joints"].numpy()
        responses_at_joints.append(joint_responses(responses.cpu().numpy(), joints, cfg.model.input_size))
        if keep_maps and n_seen < NUM_MAP_SAMPLES:
            take = min(NUM_MAP_SAMPLES - n_seen, images.shape[0])
            maps["cams"].append(out["cams"][:take].float().cpu().numpy())
            maps["responses"].append(responses[:take].cpu().numpy())
            maps["pred"].append(kpts[:take])
            maps["gt"].append(joints[:take])
            maps["images"].append(images[:take].cpu())
            maps["sample_index"].append(meta["index"][:take].numpy())
        n_seen += images.shape[0]
    if trial.device.type == "cuda":
        torch.cuda.synchronize(trial.device)
    elapsed = time.perf_counter() - t0
    passes = 2 if cfg.schedule.flip_test else 1
    if keep_maps and maps["images"]:
        maps["images"] = [torch.cat(maps["images"])]  # normalised; artifacts turns them into uint8
    return {
        "instances": instances,
        "responses_at_joints": (np.concatenate(responses_at_joints) if responses_at_joints
                                else np.zeros((0, trial.spec.num_joints))),
        "maps": ({k: (v[0] if k == "images" else np.concatenate(v)) for k, v in maps.items() if v}
                 if keep_maps else None),
        "infer_img_per_s": n_seen * passes / max(elapsed, 1e-9),
        "eval_s": elapsed,
    }


def evaluate(trial: Trial, keep_artifacts: bool) -> dict[str, Any]:
    """Predict and score the validation set; with `keep_artifacts`, write the trial's files."""
    from harness.evaluation import evaluate as evaluate_predictions
    from harness.evaluation.response import group_means
    from harness.evaluation.results import build_results
    from harness.reference import evaluated_image_ids
    from harness.trial.artifacts import discard_interim, write_artifacts, write_predictions

    t0 = time.perf_counter()
    pred = predict(trial, keep_maps=keep_artifacts)
    results = build_results(trial.spec.name, pred["instances"], trial.spec)
    pred_path = write_predictions(trial.out, results, interim=not keep_artifacts)
    ev = evaluate_predictions(trial.spec.name, trial.val_set.ann_path, results,
                              head_boxes=getattr(trial.val_set, "head_boxes", None),
                              image_ids=evaluated_image_ids(trial.val_set))
    out = {"metrics": ev.metrics, "infer_img_per_s": pred["infer_img_per_s"], "eval_s": time.perf_counter() - t0}
    if keep_artifacts:
        out["response_stats"] = group_means(pred["responses_at_joints"], trial.spec)
        write_artifacts(trial, ev.per_image, pred["maps"])
    else:
        discard_interim(pred_path)
    return out
