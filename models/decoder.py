"""The pose decoder (Sec. 3.4, Fig. 3b): DETR-style layers whose last cross-attention gives R_i.

Queries: one per keypoint, the prototypes P (RePPG's output, or the baseline's learned query
embeddings). They are the decoder's initial content (`tgt = P`, so that Fig. 6b, "processed by
SA", is the first self-attention applied to them) and are re-added as the query position code
at every layer, as DETR re-adds its query embeddings, so each query keeps its keypoint identity.

Layers 1 .. n-1 are post-norm DETR decoder layers: query self-attention, cross-attention to the
memory F_m (keys = F_m + its position embedding when the baseline has one), FFN, each followed
by residual + LayerNorm. Layer n (the response layer) does the self-attention and then only the
cross-attention weights softmax(QK^T / sqrt(d_k)), averaged over heads: the response maps R_i
(B x K x L, each row a distribution over the memory positions). The part features pool F_m with
them (F^p_i = sum_p R_i(p) F_m(p), "pooling where the location maps are treated as spatial
keypoint locations"), so the response layer has no value path or FFN: they would feed nothing.
"""
from __future__ import annotations

import torch
from torch import nn

from models.attention import MultiHeadAttention
from models.encoder import FeedForward


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout)
        self.cross_attn = MultiHeadAttention(d_model, nhead, dropout)
        self.ffn = FeedForward(d_model, dim_feedforward, dropout)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.drop1, self.drop2, self.drop3 = nn.Dropout(dropout), nn.Dropout(dropout), nn.Dropout(dropout)

    def self_attend(self, tgt: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
        qk = tgt + query_pos
        return self.norm1(tgt + self.drop1(self.self_attn(qk, qk, tgt)))

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, query_pos: torch.Tensor,
                memory_pos: torch.Tensor | None) -> torch.Tensor:
        tgt = self.self_attend(tgt, query_pos)
        keys = memory if memory_pos is None else memory + memory_pos
        tgt = self.norm2(tgt + self.drop2(self.cross_attn(tgt + query_pos, keys, memory)))
        return self.norm3(tgt + self.drop3(self.ffn(tgt)))


class ResponseLayer(nn.Module):
    """The last decoder layer: query self-attention, then cross-attention weights only (or, with
    `read="logits"`, their logits before the softmax: the "score_map" reading of `models.decoder_head`)."""

    def __init__(self, d_model: int, nhead: int, dropout: float, read: str = "weights"):
        super().__init__()
        if read not in ("weights", "logits"):
            raise ValueError(f"read must be 'weights' or 'logits', got {read!r}")
        self.read = read
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout)
        self.cross_attn = MultiHeadAttention(d_model, nhead, values=False)
        self.norm1 = nn.LayerNorm(d_model)
        self.drop1 = nn.Dropout(dropout)

    def self_attend(self, tgt: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
        qk = tgt + query_pos
        return self.norm1(tgt + self.drop1(self.self_attn(qk, qk, tgt)))

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, query_pos: torch.Tensor,
                memory_pos: torch.Tensor | None, prior: torch.Tensor | None = None) -> torch.Tensor:
        tgt = self.self_attend(tgt, query_pos)
        keys = memory if memory_pos is None else memory + memory_pos
        read = self.cross_attn.weights if self.read == "weights" else self.cross_attn.logits
        return read(tgt + query_pos, keys, prior).mean(dim=1)


class Decoder(nn.Module):
    def __init__(self, num_layers: int, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                 read: str = "weights"):
        super().__init__()
        if num_layers < 1:
            raise ValueError("the decoder needs at least one layer (the response layer)")
        self.layers = nn.ModuleList(DecoderLayer(d_model, nhead, dim_feedforward, dropout)
                                    for _ in range(num_layers - 1))
        self.response_layer = ResponseLayer(d_model, nhead, dropout, read)

    def forward(self, prototypes: torch.Tensor, memory: torch.Tensor,
                memory_pos: torch.Tensor | None = None, prior: torch.Tensor | None = None) -> torch.Tensor:
        """prototypes B x K x d, memory B x L x d -> response maps R: B x K x L (float32; with
        `read="logits"` the attention logits whose softmax over L would be R). `prior`: B x K x L
        added to the response layer's attention logits (`models.response_prior`), or None."""
        tgt = prototypes
        for layer in self.layers:
            tgt = layer(tgt, memory, prototypes, memory_pos)
        return self.response_layer(tgt, memory, prototypes, memory_pos, prior)

    def first_self_attention(self, prototypes: torch.Tensor) -> torch.Tensor:
        """The prototypes after the first layer's query self-attention (+ residual, norm): Fig. 6b."""
        first = self.layers[0] if len(self.layers) else self.response_layer
        return first.self_attend(prototypes, prototypes)
