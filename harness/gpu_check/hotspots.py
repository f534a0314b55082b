"""Where a training step's time goes: the top operators of one profiled step (`torch.profiler`).

The step is `harness.gpu_check.step.TrainingStep` (eager), profiled once after its warm-up steps.
On CUDA two lists, each by self device time (time spent in the item itself, not in what it
calls, so a list's shares do not count anything twice):
- `top_kernels`: the GPU kernels (a slow kernel has its name here);
- `top_ops`: the operators that launched them (aten::..., by the device time of their own kernels).
On CPU there are no kernels (`top_kernels` is None) and `top_ops` is by self CPU time.
Each entry: name, calls, self_ms, share (of the list's total), cpu_self_ms (host time: launch
overhead shows here).
"""
from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from harness.config import TrialConfig
from harness.gpu_check.settings import Settings
from harness.gpu_check.step import TrainingStep


def _entries(events: list, key, top: int) -> tuple[list[dict[str, Any]], float]:
    """The `top` events by `key` (microseconds) as JSON entries, and the total of `key` (ms)."""
    total = sum(key(e) for e in events)
    ranked = sorted(events, key=key, reverse=True)[:top]
    return [{"name": e.key, "calls": int(e.count), "self_ms": key(e) / 1000,
             "share": key(e) / total if total > 0 else None, "cpu_self_ms": e.self_cpu_time_total / 1000}
            for e in ranked if key(e) > 0], total / 1000


def top_operators(cfg: TrialConfig, network: str, device: torch.device, s: Settings, batch: int) -> dict[str, Any]:
    run = TrainingStep(cfg, device)
    run.set_batch(batch)
    for _ in range(s.warmup_steps):
        run.step()
    on_cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_cuda else [])
    if on_cuda:
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    with profile(activities=activities) as prof:
        run.step()
        if on_cuda:
            torch.cuda.synchronize(device)
    step_ms = (time.perf_counter() - t0) * 1000
    events = [e for e in prof.key_averages() if not e.key.startswith("[")]  # "[memory]" and the like
    ops = [e for e in events if e.device_type == DeviceType.CPU]
    out: dict[str, Any] = {"backbone": cfg.model.backbone, "network": network, "batch": batch,
                           "step_ms_profiled": step_ms, "loss_finite": math.isfinite(run.last_loss)}
    if on_cuda:
        # Why the names: a `record_function` range (Adam's "Optimizer.step#...") can also come back
        # as a device-side annotation spanning its kernels; counted here it would count them twice.
        host_names = {e.key for e in ops}
        kernels = [e for e in events if e.device_type == DeviceType.CUDA and e.key not in host_names]
        out["top_kernels"], out["device_ms"] = _entries(kernels, lambda e: e.self_device_time_total, s.profile_top)
        out["top_ops"], _ = _entries(ops, lambda e: e.self_device_time_total, s.profile_top)
        out["sorted_by"] = "self device time"
    else:
        out["top_kernels"], out["device_ms"] = None, None
        out["top_ops"], _ = _entries(ops, lambda e: e.self_cpu_time_total, s.profile_top)
        out["sorted_by"] = "self CPU time"
    run.release()
    return out
