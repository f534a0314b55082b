"""Every seed a trial sets, in one place: the process at the trial's start, the model's
initialisation, and each epoch's own stream.

- `seed_everything(seed)`: Python's `random`, NumPy's global generator and torch (CPU and every
  CUDA device); at the trial's start (`begin_trial`, again before its data is built);
- `seed_model(seed)`: torch alone, right before the network is built, so that its initial weights
  do not depend on what building the data drew;
- `seed_epoch(seed, epoch)`: `seed_everything` from (seed, epoch) before each training epoch (the
  network's own randomness, dropout); the batches' order and augmentation come from the loader,
  from (seed, epoch, sample index) (`harness.trial.loaders`).
"""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # CPU and every CUDA device


def seed_model(seed: int) -> None:
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7919) % 2**31


def seed_epoch(seed: int, epoch: int) -> None:
    seed_everything(epoch_seed(seed, epoch))
