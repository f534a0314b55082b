"""Datasets: keypoint facts (`specs`), loaders of the real formats, affine crops and augmentation,
torch datasets with the labels of each supervision regime, and synthetic twins (`synth`).

Entry points: `build_dataset`, `collate_train`, `collate_eval`, `mean_pose`.

They are imported lazily: `harness.data.specs` is read by light modules (config, report) that
should not pay for torch and cv2 -- and `harness.config` itself imports the specs.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_dataset": "harness.data.build", "load_split": "harness.data.build",
    "collate_train": "harness.data.collate", "collate_eval": "harness.data.collate",
    "mean_pose": "harness.data.mean_pose", "KeypointDataset": "harness.data.dataset",
    "DataSkipWarning": "harness.data.skips",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harness.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups (and monkeypatching) see a plain attribute
    return value
