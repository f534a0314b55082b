"""A trial's `checkpoint.pt`: the last finished epoch, written atomically, resumed from on restart,
and opened read-only by the probes that look into a finished trial (`open_finished`)."""
from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Iterator

import torch

from harness.atomic import atomic_write
from harness.config import DatasetConfig
from harness.errors import UserError
from harness.trial.config_file import load_trial_config
from harness.trial.setup import Trial

CHECKPOINT = "checkpoint.pt"


def checkpoint_path(trial: Trial) -> Path:
    return trial.out / CHECKPOINT


def save_checkpoint(trial: Trial) -> None:
    state = {
        "epoch": trial.epoch, "model": trial.net.state_dict(), "optimizer": trial.optimizer.state_dict(),
        "scheduler": trial.scheduler.state_dict(), "curve": json.dumps(trial.curve),
        "train_s": trial.train_s, "train_images": trial.train_images, "data_wait_s": trial.data_wait_s,
        "iterations": trial.iterations, "config_id": trial.cfg.trial_id(),
    }
    atomic_write(checkpoint_path(trial), lambda fh: torch.save(state, fh), mode="wb")


def load_checkpoint(trial: Trial, config_id: str | None = None) -> bool:
    """Restore the trial from its checkpoint; False when there is none. The checkpoint must belong
    to `config_id` (default: the trial's own id)."""
    path = checkpoint_path(trial)
    if not path.is_file():
        return False
    state = torch.load(path, map_location=trial.device, weights_only=True)
    if state.get("config_id") != (config_id or trial.cfg.trial_id()):
        raise RuntimeError(f"{path}: checkpoint belongs to another config")
    trial.net.load_state_dict(state["model"])
    trial.optimizer.load_state_dict(state["optimizer"])
    trial.scheduler.load_state_dict(state["scheduler"])
    trial.epoch = int(state["epoch"])
    trial.curve = json.loads(state["curve"])
    trial.train_s = float(state["train_s"])
    trial.train_images = int(state["train_images"])
    trial.data_wait_s = float(state["data_wait_s"])
    trial.iterations = int(state.get("iterations", 0))  # checkpoints before the warm-up counted none
    return True


@contextlib.contextmanager
def open_finished(folder: Path, twin_cache: Path, device: torch.device | None = None,
                  dataset: DatasetConfig | None = None) -> Iterator[Trial]:
    """The trial of a results folder (its metrics.json's config) at its last checkpoint, the network
    in eval mode, closed on exit. Read-only: nothing in the folder is written. A folder without a
    checkpoint is a UserError naming it.

    `dataset`: the trial's network over another dataset config of the same kind (its `val_set` then
    holds, e.g., a validation twin drawn with another seed: experiments/readings/rescore.py); the
    trial's `cfg` says so, and the checkpoint is still checked against the trained config's id."""
    folder = Path(folder)
    trained = load_trial_config(folder / "metrics.json")
    cfg = trained
    if dataset is not None:
        if dataset.kind != trained.dataset.kind:
            raise UserError(f"{folder}: trained on {trained.dataset.kind}, cannot be scored on {dataset.kind}")
        cfg = dataclasses.replace(trained, dataset=dataset)
    trial = Trial(cfg, folder, Path(twin_cache), device or torch.device("cpu"))
    try:
        if not load_checkpoint(trial, trained.trial_id()):
            raise UserError(f"{folder}: no {CHECKPOINT}")
        trial.net.eval()
        yield trial
    finally:
        trial.close()
