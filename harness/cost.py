"""Cost figures of a model: parameters, GMACs, training / inference throughput, peak memory.

The same code fills every trial's `metrics.json["cost"]`, `harness plan`'s estimate and the
benchmarks, so the three agree. GMACs are multiply-accumulates (FLOPs / 2, as the pose papers
report them), counted by `torch.utils.flop_counter.FlopCounterMode` at the trial's input size.
"""
from __future__ import annotations

import resource
import time
from contextlib import nullcontext
from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from models.build import build_model

# Why: on CPU, `scaled_dot_product_attention` runs the fused `_..._flash_attention_for_cpu` kernel,
# which FlopCounterMode has no formula for (it counts the CUDA flash / efficient / cudnn kernels
# and, on the meta device, the math path's two bmm's). Without this entry a CPU count misses
# every attention product and disagrees with the meta-device count `harness plan` uses.
_EXTRA_FORMULAS = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu:
        lambda q, k, v, *args, out_shape=None, **kwargs: sdpa_flop_count(q, k, v),
}


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_gmacs(model_cfg: Any, meta: bool = False, model: torch.nn.Module | None = None) -> float:
    """GMACs of one forward pass of one image at `model_cfg.input_size`.

    With `meta=True` the model is built on the meta device: shapes only, no memory, no compute
    (what `harness plan` uses for hundreds of configs); if an op has no meta kernel, it falls back
    to a real CPU pass.
    """
    h, w = model_cfg.input_size
    if meta and model is None:
        try:
            with torch.device("meta"):
                m = build_model(model_cfg)
                x = torch.empty(1, 3, h, w)
            return _flops(m, x) / 2e9
        except (NotImplementedError, RuntimeError, AssertionError):
            pass
    m = model if model is not None else build_model(model_cfg)
    p = next(m.parameters(), None)
    x = torch.zeros(1, 3, h, w, device=p.device if p is not None else "cpu", dtype=torch.float32)
    return _flops(m, x) / 2e9


def _flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    was_training = model.training
    # FlopCounterMode's module tracker hooks the gradients of module inputs; a parameter passed
    # as a module's input (learned queries) has no grad_fn there, so count with grads off.
    needs_grad = [p for p in model.parameters() if p.requires_grad]
    model.eval()
    counter = FlopCounterMode(display=False, custom_mapping=_EXTRA_FORMULAS)
    try:
        for p in needs_grad:
            p.requires_grad_(False)
        with torch.no_grad(), counter:
            model(x)
    finally:
        for p in needs_grad:
            p.requires_grad_(True)
        model.train(was_training)
    return counter.get_total_flops()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(images: int, seconds: float) -> float | None:
    """img/s as every cost figure defines it: images processed / wall seconds (None: nothing timed).

    `measure_throughput` and the benchmarks (over pytest-benchmark's rounds) use it; a trial's
    `train_img_per_s` / `infer_img_per_s` are the same quotient over its epochs / validation pass.
    """
    return images / seconds if seconds > 0 else None


def measure_throughput(step: Callable[[], Any], batch_size: int, device: torch.device,
                       warmup: int = 1, iters: int = 3) -> float:
    """Images per second of `step()` (one batch), after `warmup` untimed calls."""
    for _ in range(warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    _sync(device)
    return images_per_second(batch_size * iters, time.perf_counter() - t0) or float("inf")


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process since `reset_peak_memory`: CUDA allocator peak on a GPU, max
    RSS on CPU (DataLoader workers are processes of their own and not counted)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def reset_peak_memory(device: torch.device) -> bool:
    """Start `peak_memory_mb` afresh (a trial in a reused process measures its own peak).

    On CPU this writes 5 to /proc/self/clear_refs (Linux >= 4.0: the peak RSS becomes the current
    RSS); False where that is refused, and the CPU peak is then the process's since it started.
    """
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return True
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA (the paper-scale path), nothing on CPU (exact, deterministic)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()
