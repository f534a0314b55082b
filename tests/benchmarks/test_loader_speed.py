"""How many loader workers a training step needs: the training loader's img/s with 0, 1 and 3
workers beside the model step's img/s, and the share of a training epoch spent waiting for data.

`test_loader_workers[w]` builds a real `harness.trial.Trial` -- the `full` scale's full LOFR
(run_matrix.yaml's t5-all: ResNet-50, 256x192, location-free) -- on the real COCO images of
../shared/data/samples (4 val2017 images of ~640x480, 14 people, skipped without them), their
annotations repeated `REPEATS` times so that an epoch has many batches. With `w` workers:

- `loader_img_per_s`: images per second out of the trial's own training loader
  (`harness.trial.loaders.TrainLoader`: persistent workers, per-sample augmentation, collation),
  nothing else running -- pytest-benchmark's rounds are loader epochs, after one untimed epoch
  that starts the workers. The main process runs one torch / OpenCV thread, as a one-CPU trial
  (whose loading is in-process) does; each worker is one process on one thread;
- then one `train_epoch` of the trial (the training loop as a trial runs it) gives
  `data_wait_fraction` (the trial's `cost.data_wait_fraction`: time waiting for the next batch
  over training time), `model_step_img_per_s` (images over the loop's time not spent waiting:
  what the step itself sustains) and `loop_img_per_s`;
- `loader_over_model_step` = loader_img_per_s / model_step_img_per_s: >= 1 means `w` workers
  keep the step fed.

The training loop runs on CUDA only (skipped without one): the paper-scale step (full LOFR, bf16
autocast, channels_last, the trial's batch of 32) for `CUDA_STEPS` steps; peak memory is
recorded. On CPU the full LOFR takes ~10 s per image at 256x192 (the stride-4 attention; the
matrix never trains that size on CPU), so there the benchmark gives the loader's rates alone.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import warnings
from pathlib import Path

import pytest
import torch

from harness.config import DatasetConfig
from harness.cost import peak_memory_mb, reset_peak_memory
from harness.trial import Trial
from harness.trial.training import train_epoch

LOADER_WORKERS = (0, 1, 3)
REPEATS = 40  # 14 people x 40 = 560 instances: 17 batches of 32 per loader epoch
ROUNDS = 3
CUDA_STEPS = 12
SWITCHES = ("spe", "multi_scale", "reppg", "pdc")


@pytest.fixture(scope="module")
def repeated_samples(samples, tmp_path_factory) -> DatasetConfig:
    """The COCO sample images with their annotations repeated (new ids, the same people)."""
    src = samples / "coco"
    data = json.loads((src / "test_coco.json").read_text())
    anns = data["annotations"]
    data["annotations"] = [{**a, "id": k * 100_000 + a["id"]} for k in range(REPEATS) for a in anns]
    root = tmp_path_factory.mktemp("coco_repeated")
    (root / "train.json").write_text(json.dumps(data))
    return DatasetConfig(name="coco_samples_x40", kind="coco", root=str(root), train_ann="train.json",
                         val_ann=str(src / "test_coco.json"), train_images=str(src), val_images=str(src))


def _trial(cfg, tmp_path: Path, twin_cache: Path, device: torch.device) -> Trial:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the samples' people without keypoints are skipped
        return Trial(cfg, tmp_path, twin_cache, device)


def _full_lofr(plan):
    """The full scale's Table 5 row with all four modules on."""
    (cfg,) = [t.config for t in plan.trials
              if "table5" in t.studies and all(getattr(t.config.model, k) for k in SWITCHES)]
    return cfg


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # 3 workers on a 2-core machine
@pytest.mark.parametrize("workers", LOADER_WORKERS)
def test_loader_workers(benchmark, figures, matrix_plans, repeated_samples, tmp_path, twin_cache, one_core, workers):
    benchmark.group = "loader-workers"
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    on_cuda = device.type == "cuda"
    full = _full_lofr(matrix_plans["full"])
    if benchmark.disabled:  # once, small: 2 loader batches of 4 from 8 instances, 1 training step of 1
        batch, steps, instances = 4, 1, 8
    else:
        batch, steps, instances = full.schedule.batch_size, CUDA_STEPS, None
    schedule = dataclasses.replace(full.schedule, batch_size=batch, num_workers=workers, epochs=1,
                                   max_train_instances=instances)
    cfg = dataclasses.replace(full, dataset=repeated_samples, schedule=schedule, device=device.type)

    trial = _trial(cfg, tmp_path / "loader", twin_cache, device)
    epochs = itertools.count(1)
    per_epoch = len(trial.train_set) // batch * batch

    def loader_epoch() -> int:
        images = 0
        for b in trial.train_loader.batches(next(epochs)):
            assert b["image"].shape[1:] == (3, *cfg.model.input_size)
            assert b["image"].is_pinned() == on_cuda
            assert "heatmaps" not in b  # location-free: image-level labels only
            images += b["image"].shape[0]
        return images

    try:
        images = benchmark.pedantic(loader_epoch, rounds=1 if benchmark.disabled else ROUNDS,
                                    warmup_rounds=0 if benchmark.disabled else 1, iterations=1)
    finally:
        trial.close()
    assert images == per_epoch
    loop = _training_loop(cfg, batch if not benchmark.disabled else 1, steps, tmp_path, twin_cache, device)
    rate = figures.record(
        benchmark, f"loader/{device.type}/workers-{workers}", images, "loader_img_per_s", value=loop,
        workers=workers, batch=batch, device=str(device), input_size=list(cfg.model.input_size),
        images="COCO val2017 samples x40", network="full LOFR (t5-all), full scale")
    step_rate = loop.get("model_step_img_per_s")
    benchmark.extra_info["loader_over_model_step"] = rate / step_rate if rate and step_rate else None


def _training_loop(cfg, batch: int, steps: int, tmp_path: Path, twin_cache: Path, device: torch.device) -> dict:
    """One epoch of `steps` batches through the trial's training loop (CUDA only; see the module
    docstring): the data wait, the step's own rate, the loop's rate, peak memory."""
    if device.type != "cuda":
        return {}
    capped = dataclasses.replace(cfg, schedule=dataclasses.replace(
        cfg.schedule, batch_size=batch, max_train_instances=batch * steps))
    trial = _trial(capped, tmp_path / "loop", twin_cache, device)
    try:
        reset_peak_memory(device)
        row = train_epoch(trial)
    finally:
        trial.close()
    assert trial.train_images == batch * steps and torch.isfinite(torch.tensor(row["total"]))
    return {"data_wait_fraction": trial.data_wait_s / trial.train_s,
            "model_step_img_per_s": trial.train_images / max(trial.train_s - trial.data_wait_s, 1e-9),
            "loop_img_per_s": trial.train_images / trial.train_s, "peak_mem_mb": peak_memory_mb(device)}
