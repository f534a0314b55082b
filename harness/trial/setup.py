"""`Trial`: what one trial holds while it trains (data, loaders, network, criterion, optimiser,
curve), and how it is set up: the regime's labels, the synthetic twin, the device, the seeds, the
loader workers."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import torch

from harness.config import DatasetConfig, TrialConfig, loader_workers
from harness.data.build import build_dataset
from harness.data.synth import TwinParams, ensure_twin, is_cached
from harness.trial.distributed import wrap_data_parallel
from harness.errors import UserError
from harness.trial.loaders import TrainLoader
from harness.trial.optimizer import build_optimizer, build_scheduler
from harness.trial.seeding import seed_everything, seed_model
from models.backbone import CheckpointError
from models.build import build_criterion, build_model


def regime_labels(cfg: TrialConfig) -> tuple[float, bool]:
    """(fraction of instances with location labels, keep only those) for the regime."""
    sup = cfg.supervision
    if sup.regime == "location_free":
        return 0.0, False
    if sup.regime == "full":
        return 1.0, False
    if sup.regime == "semi":
        return float(sup.fraction), False
    return (1.0 if sup.fraction is None else float(sup.fraction)), True  # sup_only


def resolve_dataset(ds: DatasetConfig, twin_cache: Path) -> DatasetConfig:
    """A synthetic twin's paths, generated once and cached by its parameters."""
    if not ds.synthetic:
        return ds
    paths = ensure_twin(TwinParams.of(ds), twin_cache)
    return replace(ds, **paths)


def twin_is_cached(ds: DatasetConfig, twin_cache: Path) -> bool:
    """Whether the synthetic twin `ds` describes is already in the cache (nothing to generate)."""
    return is_cached(TwinParams.of(ds), twin_cache)


def pick_device(requested: str, assigned_gpus: list | None = None) -> torch.device:
    """The GPU the scheduler assigned to this trial (Ray sets CUDA_VISIBLE_DEVICES to it, so it is
    device 0), else CPU. `assigned_gpus`: the runner's assignment (`ray.get_gpu_ids()`, passed in by
    `harness.runner.trainables`; an empty list: no GPU for this trial), None outside Ray."""
    if requested == "cpu":
        return torch.device("cpu")
    assigned = assigned_gpus
    if assigned is not None and len(assigned) == 0:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda", 0)
    return torch.device("cpu")


def available_cpus() -> int:
    """The CPUs this process may run on (a trial started outside the runner takes them all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Trial:
    """Everything one trial holds while it trains: model, criterion, optimiser, data, curve.

    `net` is the bare network (evaluation, artifacts); `model` is what trains: the network, or
    its DistributedDataParallel wrapper when `world` = (rank, size) has size > 1. `num_workers`:
    the loader workers per rank (`schedule.num_workers`, which the runner resolves from the
    trial's CPUs; unset outside the runner: from this process's CPUs). `close()` stops them.
    """

    def __init__(self, cfg: TrialConfig, out_dir: Path, twin_cache: Path, device: torch.device,
                 progress: Callable[[str], None] | None = None, world: tuple[int, int] = (0, 1)):
        self.cfg, self.out, self.device = cfg, out_dir, device
        self.rank, self.world_size = world
        self.progress = progress or (lambda msg: None)
        s = cfg.schedule
        self.dataset_cfg = resolve_dataset(cfg.dataset, twin_cache)
        fraction, labelled_only = regime_labels(cfg)
        seed_everything(cfg.seed)
        self.train_set = build_dataset(
            self.dataset_cfg, "train", cfg.model.input_size, augment=True, location_fraction=fraction,
            labelled_only=labelled_only, seed=cfg.seed, max_instances=s.max_train_instances,
            heatmap_sigma=cfg.model.heatmap_sigma, label_rule=cfg.supervision.labels,
            crop_shift=s.crop_shift if s.augment == "shift" else 0.0)
        self.val_set = build_dataset(
            self.dataset_cfg, "val", cfg.model.input_size, augment=False, seed=0,
            max_instances=s.max_val_instances, heatmap_sigma=cfg.model.heatmap_sigma,
            label_rule=cfg.supervision.labels)
        self.spec = self.val_set.spec
        self.num_workers = loader_workers(s.num_workers, available_cpus(), self.world_size)
        self.train_loader = TrainLoader(self.train_set, s.batch_size, cfg.seed, self.num_workers, device, world)
        seed_model(cfg.seed)
        try:
            self.net = build_model(cfg.model).to(device)
        except CheckpointError as exc:  # a pretrained path the user must fix
            raise UserError(str(exc)) from None
        if device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.model: torch.nn.Module = self.net
        if self.world_size > 1:
            self.model = wrap_data_parallel(self.net, device)  # Ray Train set up the process group
        self.criterion = build_criterion(cfg.model, flip_pairs=self.spec.flip_pairs)
        self.optimizer = build_optimizer(self.net, s)
        self.scheduler = build_scheduler(self.optimizer, s)
        self.epoch = 0
        self.iterations = 0  # optimiser steps so far (the lr warm-up counts them)
        self.curve: list[dict[str, Any]] = []
        self.train_s = 0.0
        self.train_images = 0
        self.data_wait_s = 0.0  # of train_s: the training loop waiting for its next batch

    def close(self) -> None:
        """Stop the loader's worker processes (the trial is over, or failed)."""
        self.train_loader.close()
