"""`machine_facts`: which machine's arithmetic a trial ran on, recorded in its metrics.json.

Why: the same seed gives the same numbers on one machine, but another machine moved a trial by
up to 0.038 PCK (readings rounds 27 and 30), while the host name ("vm") and the Ray node id say
nothing about it: every session's machine is called "vm", and the node id is new in every run. A
gap between two trials trained on different machines mixes the module's effect with the machine's.

`numerics` is the digest of the bits of a small fixed computation (a convolution forward and
backward, a matrix product) run on the trial's device at its thread count: the kernels torch
picks (AVX-512 or AVX2, oneDNN's version, a GPU's model) decide those bits, as they decide a
trial's. Two trials with different `numerics` were not trained with the same arithmetic, and a
pair of them is not a like-for-like comparison; equal digests are necessary for equal numbers,
not proof of them (a kernel the probe does not run may still differ). The CPU's model, a digest of
its flags, the thread count and torch's version say what differed.
"""
from __future__ import annotations

import hashlib
import platform
from pathlib import Path

import torch
import torch.nn.functional as F

DIGEST_CHARS = 12  # 48 bits: a label for a handful of machines, not a security digest


def digest(chunks: list[bytes]) -> str:
    """The short hex digest of `chunks` in order (any one bit of them changes it)."""
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(len(chunk).to_bytes(8, "little"))
        h.update(chunk)
    return h.hexdigest()[:DIGEST_CHARS]


def probe_tensors(device: torch.device) -> list[torch.Tensor]:
    """The probe's outputs on `device`: a 3 x 3 convolution's output and its weight's gradient
    (what a backbone's training step computes) and a matrix product (what the transformer's
    layers compute). Inputs are drawn from a private generator: the trial's random state is
    untouched (the probe runs after training, but must not move a resumed trial either)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 32, 24, generator=gen)
    w = torch.randn(16, 3, 3, 3, generator=gen)
    a = torch.randn(96, 160, generator=gen)
    b = torch.randn(160, 80, generator=gen)
    x, a, b = x.to(device), a.to(device), b.to(device)
    w = w.to(device).requires_grad_(True)
    with torch.enable_grad():  # the trial's evaluation may have switched gradients off
        y = F.conv2d(x, w, padding=1).relu()
        (y.mean(dim=(2, 3)) ** 2).sum().backward()
    assert w.grad is not None
    return [y.detach(), w.grad.detach(), a @ b]


def tensor_bytes(tensors: list[torch.Tensor]) -> list[bytes]:
    return [t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes() for t in tensors]


def _cpuinfo() -> tuple[str, str]:
    """The CPU's model name and its flags line (Linux); `platform.processor()` and "" elsewhere."""
    model, flags = "", ""
    path = Path("/proc/cpuinfo")
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and not model:
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = " ".join(sorted(value.split()))
    return model or platform.processor() or platform.machine(), flags


def machine_facts(device: torch.device) -> dict[str, str | int]:
    """metrics.json's `machine`: cpu, cpu_flags (digest), threads, torch, device, numerics (digest)."""
    model, flags = _cpuinfo()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return {"cpu": model, "cpu_flags": digest([flags.encode()]), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "device": name,
            "numerics": digest(tensor_bytes(probe_tensors(device)))}
