"""Multi-head attention (Eqs. 5-8) with two paths: fused, and with explicit weights.

`forward` runs `torch.nn.functional.scaled_dot_product_attention` (flash / memory-efficient
kernels where available). `weights` returns the softmax(QK^T / sqrt(d_k)) matrices themselves,
computed in float32 even under autocast, for the decoder layer whose cross-attention maps are
the response maps; it is an ordinary differentiable op, so those maps train.

A module built with `values=False` has only the query / key projections: the response layer
needs the weights and nothing else, and a value path that fed nothing would leave parameters
without gradients (which DistributedDataParallel refuses).
"""
from __future__ import annotations

from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, nhead: int, dropout: float = 0.0, values: bool = True):
        super().__init__()
        if d_model % nhead:
            raise ValueError(f"d_model {d_model} is not divisible by nhead {nhead}")
        self.nhead, self.head_dim, self.dropout = nhead, d_model // nhead, dropout
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model) if values else None
        self.out_proj = nn.Linear(d_model, d_model) if values else None
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
            else:
                nn.init.zeros_(p)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.nhead, self.head_dim).transpose(1, 2)  # B x h x N x d_k

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """query B x Lq x d, key / value B x Lk x d -> B x Lq x d."""
        if self.v_proj is None:
            raise RuntimeError("this attention was built without a value path (values=False)")
        q, k, v = self._heads(self.q_proj(query)), self._heads(self.k_proj(key)), self._heads(self.v_proj(value))
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        b, _, n, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, -1))

    def weights(self, query: torch.Tensor, key: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """Attention weights B x h x Lq x Lk (float32; each row sums to 1 over the keys)."""
        logits = self.logits(query, key, bias)
        with no_autocast(logits.device.type):
            return logits.softmax(dim=-1)

    def logits(self, query: torch.Tensor, key: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """Attention logits QK^T / sqrt(d_k) (+ `bias`, B x Lq x Lk, the same for every head),
        B x h x Lq x Lk (float32), before the softmax."""
        q, k = self._heads(self.q_proj(query)), self._heads(self.k_proj(key))
        # Why autocast is off: bf16 logits over thousands of keys lose the small differences
        # that the response maps are made of.
        with no_autocast(q.device.type):
            logits = torch.matmul(q.float(), k.float().transpose(-2, -1)) * self.head_dim ** -0.5
            return logits if bias is None else logits + bias.float().unsqueeze(1)


def no_autocast(device_type: str):
    """Context in which ops run in the dtype of their inputs (float32 islands under autocast)."""
    # autocast only knows real devices; the meta device (shape-only cost counting) has none.
    return torch.autocast(device_type=device_type, enabled=False) if device_type in ("cpu", "cuda") else nullcontext()
