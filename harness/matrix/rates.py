"""What `harness plan` estimates from: measured training speeds, and GMACs counted once.

Measured rates: a completed trial's metrics.json holds `cost.train_img_per_s` for its
`config.model` on `cost.device` ("cpu", or the CUDA device's name, e.g. "NVIDIA H100 80GB HBM3").
`rate_key(model, device_kind)` is the one key under which such a rate is stored and looked up, so
that the two agree: the device kind ("gpu" or "cpu") and the whole model config but its
`pretrained` path (weights do not change the speed; MS, the depths, the input size do). Every
finished trial under a results root counts, whatever its matrix or scale; several of one key
give their mean.

GMACs of a model config take ~1-3 s to count on the meta device; they are cached in the user's
cache folder (`$LOFR_HARNESS_CACHE`, else `$XDG_CACHE_HOME/lofr-harness`, else
`~/.cache/lofr-harness`), never in the project or the results folder.

A trial's training work (`training_work`: epochs x training instances x 3 x forward GMACs) is what
the plan's estimate and the run's ETA scale by; its training instances (`train_instances`) come
from the annotation file when it is on disk, else from the dataset's published size (its spec), a
twin's from its size.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.atomic import write_json
from harness.config import TrialConfig, to_dict
from harness.data.specs import SPECS

# metrics.json of a run folder (<matrix>/<scale>/<trial>/) and of older folders (<matrix>/<trial>/)
METRICS_GLOBS = ("*/*/*/metrics.json", "*/*/metrics.json")


def device_kind(device: str) -> str:
    """"cpu" for a CPU trial, "gpu" for any other device metrics.json names."""
    return "cpu" if str(device).lower().startswith("cpu") else "gpu"


def rate_key(model: dict[str, Any], kind: str) -> str:
    """The key of a training rate: device kind and model config (its `pretrained` path aside)."""
    shape = {k: v for k, v in model.items() if k != "pretrained"}
    return json.dumps([kind, shape], sort_keys=True)


def measured_rates(results_root: Path) -> dict[str, float]:
    """{rate_key: mean training img/s} of the completed trials under `results_root` (read only)."""
    found: dict[str, list[float]] = {}
    for pattern in METRICS_GLOBS:
        for path in Path(results_root).glob(pattern):
            try:
                m = json.loads(path.read_text())
                if m.get("status") != "completed":
                    continue
                rate = float(m["cost"]["train_img_per_s"])
                key = rate_key(m["config"]["model"], device_kind(m["cost"]["device"]))
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
            if rate > 0:
                found.setdefault(key, []).append(rate)
    return {k: sum(v) / len(v) for k, v in found.items()}


def user_cache_dir() -> Path:
    if os.environ.get("LOFR_HARNESS_CACHE"):
        return Path(os.environ["LOFR_HARNESS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lofr-harness"


class GmacsCache:
    """GMACs of one forward pass per model config, kept in the user's cache folder."""

    def __init__(self, path: Path | None = None):
        self.path = path or user_cache_dir() / "gmacs.json"
        try:
            self.values: dict[str, float] = dict(json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError):
            self.values = {}
        self.changed = False

    def gmacs(self, model_cfg: Any) -> float:
        """Counted on the meta device (no memory, no compute), once per config."""
        key = rate_key(to_dict(model_cfg), "")
        if key not in self.values:
            from harness.cost import count_gmacs  # deferred: `harness plan` needs torch only to count
            self.values[key] = count_gmacs(model_cfg, meta=True)
            self.changed = True
        return self.values[key]

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_json(self.path, self.values)
        except OSError:
            pass  # an unwritable cache folder only costs the recount next time


def train_instances(cfg: TrialConfig) -> tuple[int, str]:
    """(training instances an epoch, where the number comes from: twin | annotation file | published size)."""
    ds = cfg.dataset
    cap = cfg.schedule.max_train_instances
    if ds.synthetic:
        # the twins average ~1.5 people an image (harness/data/synth/scene.py); the cap wins when set
        n = int(ds.synth_images * 1.5)
        return (min(n, cap) if cap else n), "twin"
    ann = Path(ds.root) / ds.train_ann
    n, src = SPECS[ds.kind].published_train_instances, "published size"
    if ann.is_file() and ann.stat().st_size < 2_000_000_000:
        try:
            data = json.loads(ann.read_text())
            n = len(data["annotations"]) if isinstance(data, dict) else len(data)
            src = "annotation file"
        except (OSError, ValueError, KeyError):
            pass
    return (min(n, cap) if cap else n), src


def training_work(cfg: TrialConfig, gmacs: GmacsCache) -> float:
    """A trial's training arithmetic in GMACs (a training step ~ 3 forward passes)."""
    return cfg.schedule.epochs * train_instances(cfg)[0] * 3 * gmacs.gmacs(cfg.model)
