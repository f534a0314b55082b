"""One epoch of a trial's training loop: the loader's batches (timed waits), forward, the
criterion's weighted total, the optimiser step, and the epoch's row of the curve (mean unweighted
and weighted terms)."""
from __future__ import annotations

import time
from typing import Any

import torch

from harness.cost import autocast_for
from harness.trial.setup import Trial, epoch_seed, seed_everything

LOCATION_KEYS = {"heatmaps", "target_weight", "joints", "meta"}


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


def train_epoch(trial: Trial) -> dict[str, Any]:
    """Train epoch `trial.epoch + 1`; return its curve row (`harness.record`: curve)."""
    cfg, s = trial.cfg, trial.cfg.schedule
    epoch = trial.epoch + 1
    # The network's own randomness (dropout) from (seed, epoch); the batches' order and
    # augmentation come from the loader, from (seed, epoch, index) (harness/trial/loaders.py).
    seed_everything(epoch_seed(cfg.seed, epoch))
    location_free = cfg.supervision.regime == "location_free"
    trial.model.train()
    sums: dict[str, float] = {}
    n_batches, t0, waited = 0, time.perf_counter(), trial.train_loader.wait_s
    weights = trial.criterion.weight_dict
    for batch in trial.train_loader.batches(epoch):
        if location_free and (LOCATION_KEYS & batch.keys()):
            # the data layer must never hand coordinates to a location-free trial
            raise RuntimeError("a location-free batch carries location labels")
        batch = to_device(batch, trial.device)
        images = batch["image"]
        if trial.device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        if cfg.fail == "always":
            raise RuntimeError("forced failure (config.fail = 'always')")
        with autocast_for(trial.device):
            outputs = trial.model(images)
        losses = trial.criterion(outputs, {k: v for k, v in batch.items() if k != "image"})
        total = trial.criterion.total(losses)
        if cfg.fail and cfg.fail.startswith("nan@") and epoch >= int(cfg.fail[4:]):
            total = total * float("nan")
        if not torch.isfinite(total):
            raise FloatingPointError(
                f"non-finite loss at epoch {epoch}: " + ", ".join(f"{k}={v.item():.4g}" for k, v in losses.items()))
        trial.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if s.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(trial.model.parameters(), s.grad_clip)
        trial.optimizer.step()
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        sums["__total"] = sums.get("__total", 0.0) + float(total.detach())
        n_batches += 1
        trial.train_images += images.shape[0]
    if trial.device.type == "cuda":
        torch.cuda.synchronize(trial.device)
    trial.train_s += time.perf_counter() - t0
    trial.data_wait_s += trial.train_loader.wait_s - waited
    trial.scheduler.step()
    trial.epoch = epoch
    n = max(n_batches, 1)
    return {
        "epoch": epoch,
        "losses": {k: v / n for k, v in sums.items() if k != "__total"},
        "weighted": {k: weights[k] * v / n for k, v in sums.items() if k != "__total"},
        "total": sums.get("__total", 0.0) / n,
        "lr": trial.optimizer.param_groups[0]["lr"],
    }

