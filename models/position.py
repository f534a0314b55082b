"""The baseline's learned position embedding (DETR's `PositionEmbeddingLearned`).

A row table and a column table of d/2 each, concatenated per cell and randomly initialised
(uniform, as DETR): the "random initialized position embedding" that SPE replaces. One table
pair per feature scale, sized to that scale's grid at the configured input size.
"""
from __future__ import annotations

import torch
from torch import nn


class LearnedPositionEmbedding(nn.Module):
    def __init__(self, d_model: int, height: int, width: int):
        super().__init__()
        if d_model % 2:
            raise ValueError(f"d_model must be even for row / column halves, got {d_model}")
        self.row_embed = nn.Parameter(torch.empty(height, d_model // 2))
        self.col_embed = nn.Parameter(torch.empty(width, d_model // 2))
        nn.init.uniform_(self.row_embed)
        nn.init.uniform_(self.col_embed)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        """feature B x d x h x w -> position embedding B x (h*w) x d (token order of `flatten(2)`)."""
        b, _, h, w = feature.shape
        if h > self.row_embed.shape[0] or w > self.col_embed.shape[0]:
            raise ValueError(f"feature grid {h}x{w} exceeds the position table "
                             f"{self.row_embed.shape[0]}x{self.col_embed.shape[0]} (input size changed?)")
        rows = self.row_embed[:h, None, :].expand(h, w, -1)
        cols = self.col_embed[None, :w, :].expand(h, w, -1)
        pos = torch.cat([cols, rows], dim=-1).reshape(h * w, -1)
        return pos.unsqueeze(0).expand(b, -1, -1).to(feature.dtype)
