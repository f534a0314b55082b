"""Relation-encoded Pose Prototype Generation (RePPG, Sec. 3.4, Eq. 10), a SemGCN over the skeleton.

Nodes: the K keypoints, initial node features F_c (Eq. 2). A: the skeleton's adjacency with
self-loops. One graph convolution (Eq. 10, rows = nodes):

    F^(l+1) = phi(M_r (.) A) F^(l) W^(l+1) + b,   phi = softmax over each node's neighbours,

with M_r a learnable K x K matrix (initialised to ones, so the first pass averages over
neighbours) of which only the entries on edges matter, as SemGCN's masked softmax does. The
paper gives one W per layer (SemGCN proper keeps separate self / neighbour weights); Eq. 10 is
followed. Between layers: LayerNorm + ReLU (SemGCN uses BatchNorm + ReLU; LayerNorm does not
mix the images of a batch). The last layer ends in a LayerNorm, so the prototypes enter the
decoder at unit scale whatever the scale of F_c (a literal sum over the grid) is.
"""
from __future__ import annotations

import torch
from torch import nn


def skeleton_adjacency(num_nodes: int, edges: tuple[tuple[int, int], ...]) -> torch.Tensor:
    """K x K 0/1 adjacency of the undirected skeleton with self-loops."""
    a = torch.eye(num_nodes)
    for i, j in edges:
        a[i, j] = a[j, i] = 1.0
    return a


class SemGraphConv(nn.Module):
    """One Eq. 10 graph convolution with a learnable, neighbour-softmaxed relation matrix."""

    def __init__(self, in_dim: int, out_dim: int, adjacency: torch.Tensor):
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.relation = nn.Parameter(torch.ones_like(adjacency))  # M_r
        self.register_buffer("mask", adjacency > 0, persistent=False)

    def normalised_relation(self) -> torch.Tensor:
        """phi(M_r (.) A): K x K, row i a distribution over node i's neighbours (and itself)."""
        logits = self.relation.float().masked_fill(~self.mask, float("-inf"))
        return logits.softmax(dim=-1)

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        """nodes B x K x in_dim -> B x K x out_dim."""
        h = self.linear(nodes)
        return torch.matmul(self.normalised_relation().to(h.dtype), h)


class RePPG(nn.Module):
    def __init__(self, d_model: int, adjacency: torch.Tensor, num_layers: int = 2):
        super().__init__()
        self.convs = nn.ModuleList(SemGraphConv(d_model, d_model, adjacency) for _ in range(num_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(num_layers))

    def forward(self, keypoint_vectors: torch.Tensor) -> torch.Tensor:
        """F_c (B x K x d) -> relation-encoded prototypes P'_C (B x K x d)."""
        h = keypoint_vectors
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            h = norm(conv(h))
            if i < len(self.convs) - 1:
                h = torch.relu(h)
        return h
