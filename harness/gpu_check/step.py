"""Training-step throughput of one network, eager and under `torch.compile`.

A step is the trial loop's body (`harness/trial/training.py`) on a fixed batch already on the
device: forward under `harness.cost.autocast_for` (bf16 on CUDA), the criterion's weighted total
on image-level labels (the Table 5 rows are location-free), zero_grad, backward, Adam over
`models.param_groups` with the trial's schedule. On CUDA the network and the images are
channels_last, as a trial makes them. Rates are `harness.cost.measure_throughput` (synchronised,
after warm-up steps), the definition every trial's cost block uses.

- `batch_search`: the eager step at each candidate batch size, in increasing order, keeping the
  fastest; it stops at an out-of-memory error, when the next doubling would not fit
  (peak x 2 > `MEMORY_FILL` of the device), when a doubling gained less than `MIN_GAIN`, or when
  the budget runs low.
- `compiled`: the same step with `torch.compile(net, backend=...)` at the eager search's batch;
  `compile_s` is the wall time of the first compiled step (forward and backward compiled, then
  run once), apart from the timed steps.

Figures of a row: `gmacs` per image (`harness.cost.count_gmacs`, the counter behind every
trial's `cost.gmacs`), `tflops` = gmacs x 2 FLOPs x 3 (forward + backward ~ 3 forwards) x img/s /
1000, `peak_share` = tflops / the device's bf16 peak, `peak_mem_mb` (`harness.cost.peak_memory_mb`:
the CUDA allocator's peak, the process's peak RSS on CPU).
"""
from __future__ import annotations

import gc
import math
import time
from typing import Any, Callable

import torch
import torch._dynamo
from torch._dynamo.utils import counters

from harness.config import TrialConfig
from harness.cost import autocast_for, count_gmacs, count_params, measure_throughput, peak_memory_mb, reset_peak_memory
from harness.gpu_check.settings import Settings, module_switches
from models.build import build_criterion, build_model, param_groups

MEMORY_FILL = 0.9  # the share of the device's memory a batch may fill
MIN_GAIN = 0.03  # a doubling of the batch that gains less than this ends the search
PASSES = 3  # a training step ~ 3 forward passes (forward, and backward at twice its cost)


def training_tflops(gmacs: float, img_per_s: float) -> float:
    """Model TFLOP/s of a training step: GMACs x 2 FLOPs per MAC x 3 passes x img/s / 1000."""
    return gmacs * 2 * PASSES * img_per_s / 1000


class TrainingStep:
    """One trial's network, criterion and optimiser on a fixed random batch; `step()` trains once."""

    def __init__(self, cfg: TrialConfig, device: torch.device, compile_backend: str | None = None):
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        net = build_model(cfg.model).to(device)
        if device.type == "cuda":
            net = net.to(memory_format=torch.channels_last)
        self.net = net.train()
        self.model = torch.compile(net, backend=compile_backend) if compile_backend else net
        self.criterion = build_criterion(cfg.model)
        s = cfg.schedule
        self.optimizer = torch.optim.Adam(param_groups(net, s.lr, s.transformer_lr_mult), lr=s.lr,
                                          weight_decay=s.weight_decay)
        self.images = self.labels = None
        self.last_loss = float("nan")

    def set_batch(self, batch: int) -> None:
        """Random images (channels_last on CUDA) and image-level labels of `batch` crops."""
        self.images = self.labels = None  # the old batch's memory is free before the new one
        h, w = self.cfg.model.input_size
        gen = torch.Generator().manual_seed(0)
        images = torch.randn(batch, 3, h, w, generator=gen).to(self.device)
        if self.device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        self.images = images
        self.labels = (torch.rand(batch, self.cfg.model.num_keypoints, generator=gen) > 0.3).float().to(self.device)

    def step(self) -> None:
        with autocast_for(self.device):
            outputs = self.model(self.images)
        total = self.criterion.total(self.criterion(outputs, {"labels": self.labels}))
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        self.last_loss = float(total.detach())

    def release(self) -> None:
        """Drop the batch and the gradients (after an out-of-memory error too)."""
        self.optimizer.zero_grad(set_to_none=True)
        self.images = self.labels = None
        free_memory(self.device)


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


def _timed(run: TrainingStep, batch: int, s: Settings) -> tuple[float, float]:
    """(img/s, peak memory MB) of `run` at `batch`."""
    run.set_batch(batch)
    reset_peak_memory(run.device)
    rate = measure_throughput(run.step, batch, run.device, warmup=s.warmup_steps, iters=s.timed_steps)
    return rate, peak_memory_mb(run.device)


def _row(run: TrainingStep, network: str, batch: int, rate: float, peak_mb: float, gmacs: float,
         s: Settings) -> dict[str, Any]:
    m = run.cfg.model
    tflops = training_tflops(gmacs, rate)
    return {"backbone": m.backbone, "network": network, "modules": module_switches(run.cfg),
            "input_size": list(m.input_size), "d_model": m.d_model, "compiled": False, "compile_backend": None,
            "compile_s": None, "batch": batch, "img_per_s": rate, "gmacs": gmacs, "params": count_params(run.net),
            "tflops": tflops, "peak_share": tflops / s.peak_tflops, "peak_mem_mb": peak_mb,
            "loss_finite": math.isfinite(run.last_loss), "steps_timed": s.timed_steps}


def batch_search(cfg: TrialConfig, network: str, device: torch.device, s: Settings,
                 time_left: Callable[[], float]) -> dict[str, Any]:
    """The eager step's row at the fastest batch size found (see the module docstring); its
    `batch_search` lists every size tried: {batch, img_per_s, peak_mem_mb} or {batch, error}."""
    run = TrainingStep(cfg, device)
    gmacs = count_gmacs(cfg.model, model=run.net)
    total_mb = torch.cuda.get_device_properties(device).total_memory / 2**20 if device.type == "cuda" else None
    tried: list[dict[str, Any]] = []
    best: tuple[float, int, float] | None = None  # (img/s, batch, peak MB)
    for batch in s.batch_candidates:
        t0 = time.monotonic()
        rate = peak = None
        try:
            rate, peak = _timed(run, batch, s)
        except torch.cuda.OutOfMemoryError:
            pass  # released below, once the exception (and the tensors its frames hold) is gone
        if rate is None:
            tried.append({"batch": batch, "error": "out of memory"})
            run.release()
            break
        tried.append({"batch": batch, "img_per_s": rate, "peak_mem_mb": peak})
        gained = best is None or rate >= best[0] * (1 + MIN_GAIN)
        if best is None or rate > best[0]:
            best = (rate, batch, peak)
        if not gained:
            break
        if total_mb is not None and peak * 2 > MEMORY_FILL * total_mb:
            break
        if time_left() < 3 * (time.monotonic() - t0):  # the next size takes about twice as long
            break
    if best is None:
        raise RuntimeError(f"no batch size of {list(s.batch_candidates)} fits: {tried}")
    rate, batch, peak = best
    run.set_batch(batch)
    run.step()  # the chosen batch's loss (the last size tried may be another)
    row = _row(run, network, batch, rate, peak, gmacs, s)
    row["batch_search"] = tried
    run.release()
    return row


def compiled(cfg: TrialConfig, network: str, device: torch.device, s: Settings, batch: int,
             gmacs: float) -> dict[str, Any]:
    """The compiled step's row at `batch` (`gmacs`: the eager network's count)."""
    torch._dynamo.reset()  # no graphs, guards or counts left from an earlier network
    run = TrainingStep(cfg, device, compile_backend=s.compile_backend)
    run.set_batch(batch)
    t0 = time.perf_counter()
    run.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    compile_s = time.perf_counter() - t0
    rate, peak = _timed(run, batch, s)
    row = _row(run, network, batch, rate, peak, gmacs, s)
    row.update(compiled=True, compile_backend=s.compile_backend, compile_s=compile_s, **_graph_counts())
    run.release()
    torch._dynamo.reset()
    return row


def _graph_counts() -> dict[str, int | None]:
    """How many graphs dynamo compiled and how many graph breaks it met: where a compiled model
    leaves Python. Why the private counters: torch has no public count (they have held these
    keys since 2.0); None where a torch version moved them."""
    try:
        return {"graphs": int(counters["stats"]["unique_graphs"]),
                "graph_breaks": int(sum(counters["graph_break"].values()))}
    except (KeyError, TypeError, AttributeError):
        return {"graphs": None, "graph_breaks": None}
