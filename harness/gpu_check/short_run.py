"""A short training run of the full LOFR through the trial's own code, and the ladder read once.

The matrix's full LOFR row trained supervised (regime `full`: every instance's heatmaps, so the
criterion has the MSE term beside the location-free classification terms) on the synthetic twin,
with `harness.trial.Trial` and `harness.trial.training.train_epoch` as a trial runs them (bf16
autocast and channels_last on CUDA, the loader's workers, pinned memory), for a few epochs of a
fixed number of steps. Figures: each epoch's mean losses (`finite`; `falling`: the last epoch's
total below the first's), the loop's img/s and data-wait fraction, peak memory.

Then the ladder's read-outs once, as a trial's evaluation computes them but without the OKS AP
(pycocotools): `harness.trial.evaluation.predict` (flip test) on the twin's validation crops,
each read-out's (responses, cams, product) location metric (`harness.evaluation.evaluator.location_metrics`:
box PCK@0.1 for COCO), each logit head's visibility mAP (`classification_metrics`).
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from harness.config import DatasetConfig, SupervisionConfig, TrialConfig
from harness.cost import peak_memory_mb
from harness.evaluation.evaluator import location_metrics
from harness.evaluation.classification import classification_metrics
from harness.evaluation.results import build_results
from harness.gpu_check.feeding import build_trial
from harness.gpu_check.settings import Settings
from harness.reference import evaluated_image_ids
from harness.trial.evaluation import predict
from harness.trial.process import begin_trial
from harness.trial.readouts import HEADS, READOUTS
from harness.trial.setup import Trial
from harness.trial.training import train_epoch


def ladder_readouts(trial: Trial) -> dict[str, Any]:
    """Each read-out's location metric and each head's classification figures (module docstring)."""
    pred = predict(trial)
    spec, val = trial.spec, trial.val_set
    ids = evaluated_image_ids(val)
    readouts = {}
    for name in [r for r in READOUTS if pred.instances.get(r)]:
        results = build_results(pred.instances[name], spec)
        readouts[name] = location_metrics(spec.name, val.ann_path, results, image_ids=ids).metrics[spec.location_metric]
    return {"location_metric": spec.location_metric, "readouts": readouts,
            "classification": {h: classification_metrics(pred.labels, pred.probs[h]) for h in HEADS},
            "infer_img_per_s": pred.infer_img_per_s, "val_instances": len(val)}


def short_run(cfg: TrialConfig, twin: DatasetConfig, device: torch.device, s: Settings, out_dir: Path,
              twin_cache: Path, regime: str) -> dict[str, Any]:
    """`regime` "location_free" (image-level labels only) or "full" (every instance's heatmaps too)."""
    batch = s.run_batch or cfg.schedule.batch_size
    schedule = replace(cfg.schedule, epochs=s.run_epochs, batch_size=batch, lr_steps=(), eval_every=0,
                       max_train_instances=batch * s.run_steps_per_epoch, max_val_instances=s.run_val_instances,
                       num_workers=s.run_workers)
    cfg = replace(cfg, dataset=twin, supervision=SupervisionConfig(regime=regime), schedule=schedule)
    begin_trial(device, cfg.seed)  # the trial's process state, its peak memory reset
    trial = build_trial(cfg, out_dir, twin_cache, device)
    try:
        curve = [train_epoch(trial) for _ in range(s.run_epochs)]
        peak = peak_memory_mb(device)
        ladder = ladder_readouts(trial)
    finally:
        trial.close()
    totals = [row["total"] for row in curve]
    finite = all(math.isfinite(v) for row in curve for v in (row["total"], *row["losses"].values()))
    m = cfg.model
    return {"backbone": m.backbone, "network": "full_lofr", "input_size": list(m.input_size), "regime": regime,
            "batch": batch, "epochs": s.run_epochs, "steps": trial.train_images // batch,
            "train_instances": len(trial.train_set), "lr": schedule.lr,
            "losses": [{"epoch": row["epoch"], "total": row["total"], "terms": row["losses"]} for row in curve],
            "finite": finite, "falling": finite and totals[-1] < totals[0],
            "train_img_per_s": trial.train_images / trial.train_s if trial.train_s > 0 else None,
            "data_wait_fraction": trial.data_wait_s / trial.train_s if trial.train_s > 0 else None,
            "loader_workers": trial.num_workers, "peak_mem_mb": peak, **ladder}
