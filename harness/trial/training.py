"""The training loop: one epoch over a loader with a model, a criterion and an optimiser
(`train_one_epoch`, which takes its parts as arguments, as torchvision's references'
`train_one_epoch` does, and returns its counters), and `train_epoch`, which runs it with a trial's
parts, steps the epoch's lr schedule and adds the counters to the trial.

Each step: the loader's next batch (its wait timed), forward under the device's autocast, the
criterion's unweighted terms and weighted total, a finite-loss check, backward, optional gradient
clipping, the optimiser step. `warmup_iters` > 0 ramps every group's lr linearly from 1/N of its
scheduled value to all of it over the first N iterations of the trial (0: the paper's schedule).
Each epoch weighs the terms by `epoch_weights` (the criterion's `weight_dict`, with PDC's weight 0
before a late onset, readings passage "pdc_onset").
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import torch

from harness.config import ScheduleConfig
from harness.cost import autocast_for
from harness.trial.seeding import seed_epoch
from harness.trial.setup import Trial

LOCATION_KEYS = {"heatmaps", "target_weight", "joints", "meta"}


@dataclass
class EpochCounters:
    """What one epoch of training counted: sums of each unweighted term and of the weighted total
    over its batches, the batches, the images, the loop's time and its time waiting for data."""

    sums: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    batches: int = 0
    images: int = 0
    train_s: float = 0.0
    data_wait_s: float = 0.0

    def curve_row(self, epoch: int, weights: dict[str, float], lr: float) -> dict[str, Any]:
        """The epoch's row of the curve (`harness.record`): mean unweighted and weighted terms."""
        n = max(self.batches, 1)
        return {"epoch": epoch, "losses": {k: v / n for k, v in self.sums.items()},
                "weighted": {k: weights[k] * v / n for k, v in self.sums.items()}, "total": self.total / n, "lr": lr}


def epoch_weights(weight_dict: dict[str, float], schedule: ScheduleConfig, epoch: int) -> dict[str, float]:
    """The terms' weights for `epoch` (1-based): `weight_dict`, except PDC's term `div` at 0 before
    `pdc_from_epoch` under pdc_onset "late" (beyond the paper; the term is still computed and logged,
    so the curve shows where it would have stood)."""
    if schedule.pdc_onset == "late" and epoch < schedule.pdc_from_epoch and "div" in weight_dict:
        return {**weight_dict, "div": 0.0}
    return dict(weight_dict)


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


def train_one_epoch(model: torch.nn.Module, criterion: Any, optimizer: torch.optim.Optimizer,
                    batches: Iterable[dict[str, Any]], epoch: int, device: torch.device, *,
                    location_free: bool, grad_clip: float = 0.0, warmup_iters: int = 0,
                    first_iter: int = 0, wait_s: Any = None,
                    weights: dict[str, float] | None = None) -> EpochCounters:
    """Train one epoch (`epoch`, 1-based, for messages) over `batches`; return its counters.

    `criterion(outputs, targets)` gives the unweighted terms and `criterion.total(terms, weights)`
    their weighted sum (`weights` None: the criterion's `weight_dict`); `first_iter`: the trial's
    iterations before this epoch (for the warm-up);
    `wait_s()`: the loader's running data-wait total (None: not measured)."""
    model.train()
    counters = EpochCounters()
    t0, waited = time.perf_counter(), wait_s() if wait_s else 0.0
    scheduled = [g["lr"] for g in optimizer.param_groups]
    for step, batch in enumerate(batches):
        if location_free and (LOCATION_KEYS & batch.keys()):
            # the data layer must never hand coordinates to a location-free trial
            raise RuntimeError("a location-free batch carries location labels")
        if first_iter + step < warmup_iters:
            scale = (first_iter + step + 1) / warmup_iters
            for g, lr in zip(optimizer.param_groups, scheduled):
                g["lr"] = lr * scale
        elif first_iter + step == warmup_iters and step:
            for g, lr in zip(optimizer.param_groups, scheduled):
                g["lr"] = lr
        batch = to_device(batch, device)
        images = batch["image"]
        if device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        with autocast_for(device):
            outputs = model(images)
        losses = criterion(outputs, {k: v for k, v in batch.items() if k != "image"})
        total = criterion.total(losses, weights)
        if not torch.isfinite(total):
            raise FloatingPointError(
                f"non-finite loss at epoch {epoch}: " + ", ".join(f"{k}={v.item():.4g}" for k, v in losses.items()))
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        for k, v in losses.items():
            counters.sums[k] = counters.sums.get(k, 0.0) + float(v.detach())
        counters.total += float(total.detach())
        counters.batches += 1
        counters.images += images.shape[0]
    for g, lr in zip(optimizer.param_groups, scheduled):  # the epoch's schedule decides the next lr
        g["lr"] = lr
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    counters.train_s = time.perf_counter() - t0
    counters.data_wait_s = (wait_s() - waited) if wait_s else 0.0
    return counters


def train_epoch(trial: Trial) -> dict[str, Any]:
    """Train epoch `trial.epoch + 1` with the trial's parts; return its curve row."""
    cfg, s = trial.cfg, trial.cfg.schedule
    epoch = trial.epoch + 1
    seed_epoch(cfg.seed, epoch)
    loader = trial.train_loader
    weights = epoch_weights(trial.criterion.weight_dict, s, epoch)
    counters = train_one_epoch(
        trial.model, trial.criterion, trial.optimizer, loader.batches(epoch), epoch, trial.device,
        location_free=cfg.supervision.regime == "location_free", grad_clip=s.grad_clip,
        warmup_iters=s.warmup_iters, first_iter=trial.iterations, wait_s=lambda: loader.wait_s, weights=weights)
    trial.scheduler.step()
    trial.epoch = epoch
    trial.iterations += counters.batches
    trial.train_s += counters.train_s
    trial.data_wait_s += counters.data_wait_s
    trial.train_images += counters.images
    return counters.curve_row(epoch, weights, trial.optimizer.param_groups[0]["lr"])
