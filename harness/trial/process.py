"""The process a trial runs in, put back in order before every trial, so that a Ray worker reused
between trials (the runner's `reuse_actors`) runs each one as a fresh process would.

`begin_trial(device)` (called by `run_trial`) leaves, whatever the last trial did:
- torch's deterministic-algorithm flag as this trial wants it (on for CPU trials, off on CUDA),
  cuDNN's `benchmark` / `deterministic` flags at their defaults, gradients on, anomaly detection
  off, float32 the default dtype, autocast off with its cache cleared (autocast and grad mode are
  per thread, and Ray Tune runs each trial in a new thread: this is for a caller that does not);
- the CUDA caching allocator emptied (after a garbage collection frees the last trial's tensors:
  on CUDA only, where it pays; a collection of this process's heap takes ~0.5 s on the 2-core
  machine, a sixth of a smoke trial) and its peak statistics reset; the CPU peak RSS reset (`harness.cost.reset_peak_memory`), so
  that `cost.peak_mem_mb` is this trial's own;
- the RNGs (random, NumPy's global generator, torch on CPU and CUDA) seeded from the trial's seed
  (`Trial` seeds them again, and every epoch reseeds from (seed, epoch)).
It counts the trials this process has begun: `worker_facts()` goes into metrics.json.

`enter_worker(resources, threads)` (called by the runner's trainables) sets torch's and OpenCV's
thread counts to the trial's CPUs, and refuses (`WorkerMismatch`) a trial whose resources differ
from those of the first trial this process ran. Ray Tune caches actors by their resource request
(`TuneController._maybe_reuse_cached_actor`), so through the runner this never fires; the check
makes "a reused worker never runs a trial with other resources" the harness's own guarantee.

What a trial leaves behind and closes itself: its loader's worker processes (`Trial.close`, in
`run_trial`'s `finally`).
"""
from __future__ import annotations

import gc
import os
from typing import Any

import cv2
import torch

from harness.cost import reset_peak_memory
from harness.trial.seeding import seed_everything

_PROCESS: dict[str, Any] = {"resources": None, "trials": 0}


class WorkerMismatch(RuntimeError):
    """A reused worker was handed a trial whose resources differ from its first trial's."""


def enter_worker(resources: dict[str, Any], threads: int) -> None:
    """Claim this process for a trial with `resources` ({"cpus", "gpus", ...}); set its threads."""
    first = _PROCESS["resources"]
    if first is None:
        _PROCESS["resources"] = dict(resources)
    elif first != resources:
        raise WorkerMismatch(f"this worker ran trials with {first}, not {resources}: a trial is never "
                             "run in a worker that was started for other resources")
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def begin_trial(device: torch.device, seed: int) -> None:
    """Put the process state back for a new trial on `device` (see the module docstring)."""
    _PROCESS["trials"] += 1
    torch.use_deterministic_algorithms(device.type == "cpu", warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = False
    torch.set_grad_enabled(True)
    torch.autograd.set_detect_anomaly(False)
    torch.set_default_dtype(torch.float32)
    for kind in ("cpu", "cuda"):
        torch.set_autocast_enabled(kind, False)
    torch.clear_autocast_cache()
    if torch.cuda.is_initialized():
        gc.collect()  # the last trial's tensors still held in reference cycles
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
    reset_peak_memory(device)
    seed_everything(seed)


def worker_facts() -> dict[str, int]:
    """Which process ran the trial, and how many trials it had begun (1 = a fresh worker)."""
    return {"pid": os.getpid(), "trial_in_process": int(_PROCESS["trials"])}
