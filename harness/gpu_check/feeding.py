"""Feeding the step: the trial's own training loader with several worker counts, on the real COCO
samples and on a synthetic twin, beside the training loop it feeds.

The trial is a real `harness.trial.Trial` of the matrix's full LOFR row (location-free) with the
dataset replaced, at the batch size the step throughput picked. For each worker count its
training loader (`harness.trial.loaders.TrainLoader`: persistent workers, pinned memory on CUDA,
per-sample augmentation) gives:
- `loader_img_per_s`: one loader epoch alone, all of its images over the whole pass, the workers'
  start and the first batch included (`first_batch_s`: that start alone). Why not the images after
  the first batch over the time since it came: with as many workers as batches every batch is
  prefetched while the first is made, so that rate divided by ~0 (5,093,195 img/s on the H200 with
  8 workers and 8 batches); the whole pass is a lower bound that never exceeds what the loader did;
- then one `harness.trial.training.train_epoch` (the trial's loop, the same images):
  `data_wait_fraction` (the trial's `cost.data_wait_fraction`), `model_step_img_per_s` (images over
  the loop's time not spent waiting), `loop_img_per_s`.
The worker counts share one trial (dataset, network, optimiser): each gets a fresh loader. The
network's first step runs before the first timed epoch (`_warm_up`), so no row carries it.

Datasets: `samples_dataset` (tests/data/samples/coco: 4 val2017 images of ~640x480, their
annotated people repeated to fill an epoch, as tests/benchmarks/test_loader_speed.py does) and
`twin_dataset` (a synthetic COCO twin, generated on the spot into the check's twin cache).
"""
from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from harness.config import DatasetConfig, TrialConfig
from harness.cost import autocast_for, images_per_second
from harness.data.skips import DataSkipWarning
from harness.gpu_check.settings import DATASET, Settings
from harness.trial.loaders import TrainLoader
from harness.trial.setup import Trial
from harness.trial.training import to_device, train_epoch

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "samples" / DATASET
SAMPLES_ANN = "test_coco.json"


def samples_dataset(folder: Path, images: int) -> DatasetConfig:
    """The COCO samples with their annotations repeated (new ids, the same people) at least
    enough times for `images` training instances, written into `folder`."""
    data = json.loads((SAMPLES / SAMPLES_ANN).read_text())
    anns = data["annotations"]
    people = sum(1 for a in anns if a.get("num_keypoints", 0) > 0)
    repeats = math.ceil(images / max(1, people)) + 1
    data["annotations"] = [{**a, "id": k * 100_000 + a["id"]} for k in range(repeats) for a in anns]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.json").write_text(json.dumps(data))
    return DatasetConfig(name=f"{DATASET}_samples_x{repeats}", kind=DATASET, root=str(folder), train_ann="train.json",
                         val_ann=str(SAMPLES / SAMPLES_ANN), train_images=str(SAMPLES), val_images=str(SAMPLES))


def twin_dataset(s: Settings) -> DatasetConfig:
    return DatasetConfig(name=f"{DATASET}_twin", kind=DATASET, synthetic=True, synth_images=s.twin_images,
                         synth_val_images=s.twin_val_images, synth_seed=0)


def build_trial(cfg: TrialConfig, out_dir: Path, twin_cache: Path, device: torch.device) -> Trial:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataSkipWarning)  # the samples' people without keypoints
        return Trial(cfg, out_dir, twin_cache, device)


def _loader_pass(loader: TrainLoader, epoch: int) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """One loader epoch alone: its figures, and its last batch."""
    t0 = time.perf_counter()
    first_at, images, last = None, 0, None
    for batch in loader.batches(epoch):
        if first_at is None:
            first_at = time.perf_counter()
        images += batch["image"].shape[0]
        last = batch
    if last is None:
        raise RuntimeError("the training loader gave no batch")
    end = time.perf_counter()
    return {"loader_img_per_s": images_per_second(images, end - t0),
            "first_batch_s": first_at - t0, "loader_images": images,
            "pinned": bool(last["image"].is_pinned())}, last


def _warm_up(trial: Trial, batch: dict[str, torch.Tensor]) -> None:
    """One forward and backward of the trial's network (no optimiser step), untimed: the first
    step's one-off costs (CUDA allocations, library handles) stay out of every timed epoch."""
    batch = to_device(batch, trial.device)
    images = batch["image"]
    if trial.device.type == "cuda":
        images = images.contiguous(memory_format=torch.channels_last)
    with autocast_for(trial.device):
        outputs = trial.model(images)
    trial.criterion.total(trial.criterion(outputs, {k: v for k, v in batch.items() if k != "image"})).backward()
    trial.optimizer.zero_grad(set_to_none=True)


def feeding(cfg: TrialConfig, dataset: DatasetConfig, label: str, device: torch.device, s: Settings, batch: int,
            out_dir: Path, twin_cache: Path) -> list[dict[str, Any]]:
    """One row per worker count of `s.feed_workers` (see the module docstring)."""
    schedule = replace(cfg.schedule, batch_size=batch, num_workers=s.feed_workers[0],
                       max_train_instances=s.feed_steps * batch, max_val_instances=batch)
    trial = build_trial(replace(cfg, dataset=dataset, schedule=schedule), out_dir, twin_cache, device)
    rows = []
    try:
        for k, workers in enumerate(s.feed_workers):
            if k:  # a fresh loader with this many workers (the trial's own stops first)
                trial.train_loader.close()
                trial.train_loader = TrainLoader(trial.train_set, batch, cfg.seed, workers, device)
                trial.num_workers = workers
            row, last = _loader_pass(trial.train_loader, trial.epoch + 1)
            if k == 0:
                _warm_up(trial, last)
            wait0, train0, images0 = trial.data_wait_s, trial.train_s, trial.train_images
            epoch = train_epoch(trial)
            wait, train = trial.data_wait_s - wait0, trial.train_s - train0
            images = trial.train_images - images0
            rows.append({"dataset": label, "train_instances": len(trial.train_set), "workers": workers,
                         "batch": batch, "steps": images // batch, **row,
                         "data_wait_fraction": wait / train if train > 0 else None,
                         "model_step_img_per_s": images_per_second(images, train - wait),
                         "loop_img_per_s": images_per_second(images, train),
                         "loss_finite": math.isfinite(epoch["total"])})
    finally:
        trial.close()
    return rows
