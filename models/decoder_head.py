"""The decoder's image-level logits (`logits.decoder`) from the response maps and the memory.

Paper (`lse_r` = 0): the part feature F^p_k = sum_p R_k(p) F_m(p) ("pooling where the location
maps are treated as spatial keypoint locations"), then a per-keypoint linear head,
logit_k = w_k . F^p_k + b_k.

Beyond the paper (`lse_r` > 0): logit_k = (1/r) log sum_p R_k(p) exp(r w_k . F_m(p)) + b_k, which
tends to the paper's head as r -> 0 and to the best-scoring attended position as r grows.

Computed in float32 outside autocast: the part features feed PDC's cosine similarities, and the
response weights are small numbers over thousands of positions.
"""
from __future__ import annotations

import torch

from models.attention import no_autocast


def part_features_and_logits(response: torch.Tensor, memory: torch.Tensor, weight: torch.Tensor,
                             bias: torch.Tensor, lse_r: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """response B x K x L, memory B x L x d, weight K x d, bias K
    -> (part features B x K x d, logits B x K), both float32."""
    with no_autocast(memory.device.type):
        mem32 = memory.float()
        part_features = torch.bmm(response, mem32)
        if lse_r > 0:
            scores = torch.einsum("kd,bld->bkl", weight.float(), mem32)
            pooled = torch.logsumexp(lse_r * scores + torch.log(response.clamp_min(1e-30)), dim=2) / lse_r
        else:
            pooled = (part_features * weight.float()).sum(dim=-1)
        return part_features, pooled + bias.float()
