"""The CNN classification branch of Sec. 3.2: image-level logits, CAMs (Eq. 1), keypoint vectors (Eq. 2).

X (backbone map, D channels) -> 1x1 conv -> X' (C = K channels) -> GAP -> FC -> `logits.cnn`.
Because GAP and FC are both linear, FC(GAP(X')) = GAP(W X') + b: the logits are the spatial
mean of the class maps S_c = sum_k w^c_k x'_k, and the CAMs are M = ReLU(S) (Eq. 1), the FC
weights applied at every position. The paper's "softmax layer" is a per-class sigmoid here: the
labels are multi-hot and Eq. 12 is a BCE.

Eq. 2: F_c = X'^T X^c, i.e. f_c = sum_ij x'_ij[c] x^c_ij, with X^c = a 1x1 conv of X to d_model
channels (D' = d_model, the width of the prototypes it initialises). Literally a sum over the
grid, as the paper writes it; RePPG normalises its output, so the sum's input-size-dependent
scale does not reach the decoder. X^c exists only when RePPG uses F_c (`embed_dim` given).

Which map weights X^c in Eq. 2 is a declared reading (`harness/paper/readings.py`, "eq2_weights";
`vector_weights`): "x_prime" (literal: x'_c, the c-th channel of X'; once the FC mixes the channels
it is not class c's map), "cam" (M_c = ReLU(S_c), class c's CAM), "cam_normalised" (M_c divided by
its sum over the grid: the mean feature where class c fires) or "cam_softmax" (a spatial softmax
of S_c). `VECTOR_WEIGHTS` lists them.

Beyond the paper (off by default): `vector_gradient="stopped"` computes Eq. 2 from the weights and
the backbone map detached, so the prototypes' losses reach X^c's 1x1 conv and nothing of the CNN
branch, which then learns from its own classification loss (and, through the backbone, the
transformer's) alone; "through" (the paper) lets RePPG's gradient into X', the FC and the backbone.

Beyond the paper (off by default): `pooling="lse"` replaces the mean by the log-sum-exp pooling
(1/r) log mean_ij exp(r S_c(i, j)), which lets one peak decide a class instead of the whole map.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.choices import VECTOR_GRADIENTS, VECTOR_WEIGHTS


class CAMHead(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, embed_dim: int | None = None,
                 pooling: str = "gap", lse_r: float = 5.0, vector_weights: str = "x_prime",
                 vector_gradient: str = "through"):
        super().__init__()
        if pooling not in ("gap", "lse"):
            raise ValueError(f"pooling must be 'gap' or 'lse', got {pooling!r}")
        if vector_weights not in VECTOR_WEIGHTS:
            raise ValueError(f"vector_weights must be one of {VECTOR_WEIGHTS}, got {vector_weights!r}")
        if vector_gradient not in VECTOR_GRADIENTS:
            raise ValueError(f"vector_gradient must be one of {VECTOR_GRADIENTS}, got {vector_gradient!r}")
        self.pooling, self.lse_r, self.vector_weights = pooling, lse_r, vector_weights
        self.vector_gradient = vector_gradient
        self.reduce = nn.Conv2d(in_channels, num_classes, kernel_size=1)  # X -> X'
        self.fc = nn.Linear(num_classes, num_classes)  # w^c_k, applied after GAP and, for Eq. 1, per position
        self.embed = nn.Conv2d(in_channels, embed_dim, kernel_size=1) if embed_dim else None  # X -> X^c

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """x: B x D x h x w backbone map. Returns:
            logits: B x K (float32), class_maps: B x K x h x w (float32, S before the ReLU),
            cams: B x K x h x w (Eq. 1, ReLU(S)), x_prime: B x K x h x w,
            keypoint_vectors: B x K x d_model (Eq. 2), or None without `embed_dim`.
        """
        x_prime = self.reduce(x)
        scores = torch.einsum("bkhw,ck->bchw", x_prime, self.fc.weight.to(x_prime.dtype)).float()
        if self.pooling == "gap":
            pooled = scores.mean(dim=(2, 3))
        else:
            r, n = self.lse_r, scores.shape[2] * scores.shape[3]
            pooled = (torch.logsumexp(r * scores.flatten(2), dim=2) - math.log(n)) / r
        fc = None
        if self.embed is not None:
            weights, source = eq2_weights(self.vector_weights, x_prime, scores), x
            if self.vector_gradient == "stopped":
                # why: the prototypes' losses would otherwise reshape X' and the FC -- the class maps
                # themselves -- to suit the decoder; X^c's own conv still learns from them
                weights, source = weights.detach(), x.detach()
            fc = keypoint_vectors(weights, self.embed(source))
        return {"logits": pooled + self.fc.bias.float(), "class_maps": scores, "cams": scores.relu(),
                "x_prime": x_prime, "keypoint_vectors": fc}


def eq2_weights(reading: str, x_prime: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """The B x K x h x w map that weights X^c in Eq. 2 under `reading` (module docstring);
    `scores`: the class maps S (float32), `x_prime`: X'."""
    if reading == "x_prime":
        return x_prime
    if reading == "cam":
        weights = scores.relu()
    elif reading == "cam_normalised":
        cams = scores.relu()
        # a class that fires nowhere gets the zero vector (eps: no division by zero)
        weights = cams / cams.sum(dim=(2, 3), keepdim=True).clamp_min(1e-12)
    else:  # cam_softmax
        weights = scores.flatten(2).softmax(dim=2).view_as(scores)
    return weights.to(x_prime.dtype)


def keypoint_vectors(x_prime: torch.Tensor, x_c: torch.Tensor) -> torch.Tensor:
    """Eq. 2: F_c[b, c] = sum_ij x'[b, c, i, j] * X^c[b, :, i, j]  (B x K x d); `x_prime` is
    whichever map weights the sum (`eq2_weights`)."""
    b, k = x_prime.shape[:2]
    return torch.bmm(x_prime.flatten(2), x_c.flatten(2).transpose(1, 2))
