"""Fig. 6's K x K inner-product matrices P P^T of a built `LOFR` (for the report, not for training).

    a: the prototypes before training (`initial_prototypes`);
    b: without RePPG, the learned queries after the decoder's first query self-attention;
    c: with RePPG, F_c (Eq. 2), averaged over the images;
    d: with RePPG, RePPG's output, averaged over the images.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def prototype_matrices(model: nn.Module, images: torch.Tensor) -> dict[str, np.ndarray]:
    """{"a", "b"} without RePPG, {"a", "c", "d"} with it: raw inner products, K x K float arrays."""
    was_training = model.training
    model.eval()
    try:
        mats = {"a": _gram(model.initial_prototypes.float())}
        if model.reppg is None:
            queries = model.query_embed.unsqueeze(0)
            mats["b"] = _gram(model.decoder.first_self_attention(queries)[0].float())
        else:
            feats = model.backbone(images)
            fc = model.cam(feats[model.cam_stride])["keypoint_vectors"]
            mats["c"] = _gram(fc.float()).mean(dim=0)
            mats["d"] = _gram(model.reppg(fc).float()).mean(dim=0)
    finally:
        model.train(was_training)
    return {k: v.cpu().numpy() for k, v in mats.items()}


def _gram(x: torch.Tensor) -> torch.Tensor:
    return torch.matmul(x, x.transpose(-2, -1))
