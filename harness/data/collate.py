"""Batching: `collate_train` (image, labels, and location targets when any sample has them) and
`collate_eval` (the same plus the evaluation `meta` as tensors).

A batch gets `heatmaps`, `target_weight` and `location_mask` only when at least one of its samples
is labelled; unlabelled rows are zeros with `location_mask` False. A batch of location-free samples
holds `image` and `labels` and nothing else.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

META_DTYPES = {"center": torch.float64, "scale": torch.float64, "image_id": torch.int64,
               "score": torch.float64, "area": torch.float64, "index": torch.int64, "joints": torch.float32}


def collate_train(samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    batch = {"image": torch.stack([s["image"] for s in samples]),
             "labels": torch.stack([s["labels"] for s in samples])}
    labelled = [i for i, s in enumerate(samples) if "heatmaps" in s]
    if labelled:
        ref = samples[labelled[0]]["heatmaps"]
        heatmaps = torch.zeros((len(samples),) + tuple(ref.shape), dtype=ref.dtype)
        weight = torch.zeros((len(samples), ref.shape[0]), dtype=torch.float32)
        mask = torch.zeros(len(samples), dtype=torch.bool)
        for i in labelled:
            heatmaps[i] = samples[i]["heatmaps"]
            weight[i] = samples[i]["target_weight"]
            mask[i] = True
        batch.update(heatmaps=heatmaps, target_weight=weight, location_mask=mask)
    return batch


def collate_eval(samples: list[dict[str, Any]]) -> dict[str, Any]:
    batch: dict[str, Any] = collate_train(samples)
    metas = [s["meta"] for s in samples]
    batch["meta"] = {k: torch.as_tensor(np.stack([np.asarray(m[k]) for m in metas]), dtype=dtype)
                     for k, dtype in META_DTYPES.items()}
    return batch
