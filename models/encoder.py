"""The context encoder (Sec. 3.3, Eqs. 5-9): post-norm self-attention layers, as in DETR.

Each layer: multi-head self-attention, residual, LayerNorm, then an FFN (two linear layers with a
ReLU), residual, LayerNorm (Fig. 3a: "LN and residual connection applied after every block").
`pos` (the baseline's learned position embedding) is added to queries and keys of every layer,
as DETR does; with SPE the position prior is already inside the tokens and `pos` is None.
"""
from __future__ import annotations

import torch
from torch import nn

from models.attention import MultiHeadAttention


class FeedForward(nn.Module):
    """Linear -> ReLU -> dropout -> Linear."""

    def __init__(self, d_model: int, dim_feedforward: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, dim_feedforward), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                 nn.Linear(dim_feedforward, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class EncoderLayer(nn.Module):
    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout)
        self.ffn = FeedForward(d_model, dim_feedforward, dropout)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, src: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        qk = src if pos is None else src + pos
        src = self.norm1(src + self.drop1(self.self_attn(qk, qk, src)))
        return self.norm2(src + self.drop2(self.ffn(src)))


class Encoder(nn.Module):
    """`num_layers` encoder layers (0 layers: the identity)."""

    def __init__(self, num_layers: int, d_model: int, nhead: int, dim_feedforward: int, dropout: float):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(d_model, nhead, dim_feedforward, dropout)
                                    for _ in range(num_layers))

    def forward(self, src: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        """src B x L x d tokens (pos: same shape or None) -> B x L x d memory."""
        for layer in self.layers:
            src = layer(src, pos)
        return src
