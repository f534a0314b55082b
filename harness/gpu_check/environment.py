"""The facts a GPU check's figures need beside them: the device, torch and the code that ran.

Also what `torch.compile`'s inductor needs on a GPU and a bare machine may lack: Triton and a C
compiler (Triton builds its kernel launcher with one), so that a failed compile can be read.
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

import harness

CODE_ROOT = Path(harness.__file__).resolve().parents[1]


def _commit() -> str | None:
    """The code's git commit, or None where the copy has no git history (a bare machine's copy)."""
    try:
        out = subprocess.run(["git", "-C", str(CODE_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def describe(device: torch.device) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "python": platform.python_version(), "torch": torch.__version__, "cuda_runtime": torch.version.cuda,
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": str(device),
        "code_root": str(CODE_ROOT), "commit": _commit(),
        "triton": _version("triton"), "c_compiler": shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc"),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        facts.update(gpu=props.name, capability=f"{props.major}.{props.minor}",
                     gpu_memory_gib=props.total_memory / 2**30, multiprocessors=props.multi_processor_count,
                     bf16_supported=torch.cuda.is_bf16_supported(), cudnn=torch.backends.cudnn.version())
    return facts
