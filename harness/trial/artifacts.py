"""The files a trial writes beside metrics.json (docs/architecture.md, "Contract: results folder"):
predictions.json, per_image.npz, maps.npz (a few validation samples' images, CAMs, responses,
keypoints) and prototypes.npz (Fig. 6's matrices). Every write is atomic."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.atomic import atomic_write, write_json
from harness.evaluation.per_image import save_per_image
from harness.trial.setup import Trial
from models.prototype_matrices import prototype_matrices

PREDICTIONS, INTERIM_PREDICTIONS = "predictions.json", "predictions.interim.json"

_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def write_predictions(out_dir: Path, results: Any, interim: bool) -> Path:
    """The results-format predictions (an epoch's interim evaluation writes a scratch file)."""
    return write_json(out_dir / (INTERIM_PREDICTIONS if interim else PREDICTIONS), results)


def discard_interim(path: Path) -> None:
    path.unlink(missing_ok=True)


def write_artifacts(trial: Trial, per_image: dict[str, np.ndarray], maps: dict[str, Any]) -> None:
    """per_image.npz, maps.npz (images as uint8) and prototypes.npz of the final evaluation."""
    save_per_image(trial.out / "per_image.npz", per_image)
    images = denormalise(maps["images"])
    save_npz(trial.out / "maps.npz", {**maps, "images": images})
    # Fig. 6 from the same uint8 images the report shows (renormalised), so the two agree.
    renormalised = (torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255.0 - _MEAN) / _STD
    mats = prototype_matrices(trial.net, renormalised.to(trial.device))
    save_npz(trial.out / "prototypes.npz", {k: np.asarray(v, dtype=np.float32) for k, v in mats.items()})


def denormalise(images: torch.Tensor) -> np.ndarray:
    """ImageNet-normalised Bx3xHxW -> uint8 BxHxWx3 (for the report's overlays)."""
    x = (images.float() * _STD + _MEAN).clamp(0, 1) * 255.0
    return x.round().byte().permute(0, 2, 3, 1).numpy()


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays), mode="wb")
