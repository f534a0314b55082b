"""The decoder's outputs beside the memory: response maps R, part features F^p and `logits.decoder`.

How the part feature is pooled and scored is a declared reading of the paper's "we then obtain
i-th part feature by pooling operation" (`harness/paper/readings.py`, "part_pooling"; the
`pooling` argument, one of `PART_POOLINGS`):

- "mean" (literal): R_k is the response layer's attention (head mean), F^p_k = sum_p R_k(p) F_m(p)
  ("pooling where the location maps are treated as spatial keypoint locations"), then a
  per-keypoint linear head, logit_k = w_k . F^p_k + b_k. A uniform R_k meets it as well as a
  peaked one (the logit becomes w_k . mean(F_m) + b_k): nothing asks the attention to localise.
- "lse" (beyond the paper): logit_k = (1/r) log sum_p R_k(p) exp(r w_k . F_m(p)) + b_k, which tends
  to "mean" as r -> 0 and to the best-scoring attended position as r grows.
- "score_map" (a reading): the response map is read as the prototype-memory score map itself, a
  class activation map of the memory: s_k(p) = the response layer's attention logits q_k . k_p /
  sqrt(d_k) (head mean), R_k = softmax_p s_k, F^p_k = sum_p R_k(p) F_m(p), and the logit is pooled
  from the same map, logit_k = (1/r) log mean_p exp(r s_k(p)) + b_k (r = 1: the log of the
  attention's partition function over L). The map the loss scores is the map that is read out;
  there is no w_k.

Computed in float32 outside autocast: the part features feed PDC's cosine similarities, and the
response weights are small numbers over thousands of positions.
"""
from __future__ import annotations

import math

import torch

from models.attention import no_autocast
from models.choices import PART_POOLINGS  # noqa: F401 (the poolings implemented here)


def decoder_outputs(pooling: str, decoded: torch.Tensor, memory: torch.Tensor, weight: torch.Tensor | None,
                    bias: torch.Tensor, r: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`decoded`: the response layer's B x K x L output (attention weights for "mean" / "lse", the
    attention logits for "score_map"); memory B x L x d; weight K x d (None for "score_map"), bias K;
    r: the log-sum-exp sharpness ("lse", "score_map").
    -> (response maps B x K x L, part features B x K x d, logits B x K), all float32."""
    if pooling == "score_map":
        return score_map_outputs(decoded, memory, bias, r)
    part_features, logits = part_features_and_logits(decoded, memory, weight, bias, r if pooling == "lse" else 0.0)
    return decoded, part_features, logits


def part_features_and_logits(response: torch.Tensor, memory: torch.Tensor, weight: torch.Tensor,
                             bias: torch.Tensor, lse_r: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """response B x K x L, memory B x L x d, weight K x d, bias K
    -> (part features B x K x d, logits B x K), both float32 ("mean" with lse_r = 0, else "lse")."""
    with no_autocast(memory.device.type):
        mem32 = memory.float()
        part_features = torch.bmm(response, mem32)
        if lse_r > 0:
            scores = torch.einsum("kd,bld->bkl", weight.float(), mem32)
            pooled = torch.logsumexp(lse_r * scores + torch.log(response.clamp_min(1e-30)), dim=2) / lse_r
        else:
            pooled = (part_features * weight.float()).sum(dim=-1)
        return part_features, pooled + bias.float()


def score_map_outputs(scores: torch.Tensor, memory: torch.Tensor, bias: torch.Tensor,
                      r: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The "score_map" reading: scores B x K x L -> (softmax_p scores, pooled memory, LSE-pooled logits)."""
    with no_autocast(memory.device.type):
        s = scores.float()
        response = s.softmax(dim=-1)
        part_features = torch.bmm(response, memory.float())
        pooled = (torch.logsumexp(r * s, dim=-1) - math.log(s.shape[-1])) / r
        return response, part_features, pooled + bias.float()
