"""A trial's data loaders: worker processes from its CPUs, batches that do not depend on them, and
the time the training loop waits for its next batch.

- `EpochSampler`: each epoch's order (and a data-parallel rank's share of it) from (seed, epoch),
  yielding `(epoch, index)` keys; the dataset draws each sample's augmentation from (seed, epoch,
  index) (`harness.data.dataset`), so 0 or N workers give the same batches.
- `TrainLoader`: one DataLoader per trial. With workers: persistent (started once, kept between
  epochs), `PREFETCH_BATCHES` batches ahead per worker, pinned memory when the trial is on CUDA
  (the training loop copies with `non_blocking=True`). `batches(epoch)` yields the epoch's batches
  and adds the time spent waiting for each to `wait_s`. `close()` stops the workers.
- `val_loader`: the validation split in order, with the same workers (not persistent: it runs
  once at the end, and every `eval_every` epochs).

Every loader gets its own `torch.Generator`: a DataLoader otherwise draws its workers' base seed
from torch's global RNG each time it starts an iteration -- every epoch without persistent
workers, once with them -- which would make the dropout masks depend on the worker count.
"""
from __future__ import annotations

import time
from typing import Any, Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from harness.data.collate import collate_eval, collate_train

PREFETCH_BATCHES = 2  # per worker (the DataLoader's default, stated): enough to hide a slow batch
ORDER_STREAM = 1  # the spawn key of an epoch's order, apart from the samples' (seed, epoch, index)


class EpochSampler(Sampler):
    """A rank's share of a permutation drawn from (seed, epoch), as `(epoch, index)` keys.

    The epoch travels with every key because persistent workers hold their own copy of the
    dataset: setting an attribute on the parent's copy would not reach them. The permutation
    comes from its own stream of (seed, epoch) (not torch's `DistributedSampler`, whose order
    seeded with seed + epoch makes seed 1's epoch k seed 0's epoch k + 1). Ranks get equal shares,
    the order padded with its own start where the count does not divide.
    """

    def __init__(self, dataset: Dataset, seed: int, rank: int = 0, world_size: int = 1):
        self.n, self.seed, self.rank, self.world_size = len(dataset), int(seed) % 2**64, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        stream = np.random.SeedSequence((self.seed, epoch), spawn_key=(ORDER_STREAM,))
        order = np.resize(np.random.default_rng(stream).permutation(self.n), len(self) * self.world_size)
        return ((epoch, int(i)) for i in order[self.rank::self.world_size])

    def __len__(self) -> int:
        return -(-self.n // self.world_size)


def _loader_options(num_workers: int, device: torch.device) -> dict[str, Any]:
    options: dict[str, Any] = {"num_workers": num_workers, "pin_memory": device.type == "cuda",
                               "generator": torch.Generator()}
    if num_workers > 0:
        _one_opencv_thread_per_worker()
        options["prefetch_factor"] = PREFETCH_BATCHES
    return options


def _one_opencv_thread_per_worker() -> None:
    """Each worker is one of the trial's CPUs: OpenCV should not start a thread per core in each.

    Why here, in the parent, before the workers fork: `cv2.setNumThreads` inside a forked worker
    hangs once the parent has used OpenCV's thread pool (it destroys a condition variable that
    still counts the parent's pool threads, which the fork did not copy). The workers inherit the
    setting; the parent decodes nothing itself while it has workers.
    """
    cv2.setNumThreads(1)


class TrainLoader:
    """The training batches of a trial, epoch by epoch (see the module docstring)."""

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, num_workers: int, device: torch.device,
                 world: tuple[int, int] = (0, 1)):
        rank, world_size = world
        self.num_workers = num_workers
        self.sampler = EpochSampler(dataset, seed, rank, world_size)
        self.loader: DataLoader | None = DataLoader(
            dataset, batch_size=batch_size, sampler=self.sampler, collate_fn=collate_train,
            drop_last=len(dataset) > batch_size * world_size, persistent_workers=num_workers > 0,
            **_loader_options(num_workers, device))
        self.wait_s = 0.0

    def batches(self, epoch: int) -> Iterator[dict[str, torch.Tensor]]:
        """The batches of `epoch` (1-based), timing the wait for each one into `wait_s`."""
        if self.loader is None:
            raise RuntimeError("the training loader was closed")
        self.sampler.set_epoch(epoch)
        it = iter(self.loader)
        while True:
            t0 = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                return
            self.wait_s += time.perf_counter() - t0
            yield batch

    def close(self) -> None:
        """Stop the persistent workers now, not whenever the loader is garbage-collected: a
        reused Ray worker must not carry the last trial's processes into the next trial, and a
        failed trial's traceback may keep the loader alive."""
        if self.loader is None:
            return
        iterator = getattr(self.loader, "_iterator", None)  # where DataLoader keeps persistent workers
        shutdown = getattr(iterator, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        self.loader = None


def val_loader(dataset: Dataset, batch_size: int, num_workers: int, device: torch.device) -> DataLoader:
    """The validation crops in order, batched for evaluation (meta included)."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_eval,
                      **_loader_options(num_workers, device))
