"""Beyond the paper: the CNN branch's class maps as a prior on the decoder's response maps.

`CamPrior` turns the class maps S (B x K x h x w on the CAM grid, before the ReLU) into a bias on the
response layer's attention logits over the concatenated memory: each scale's grid reads S by the
harness's grid convention (`models.grid.resample`), and the bias is log softmax_p S_k(p) over all
L memory positions, so that R_k(p) is proportional to exp(q_k . k_p / sqrt(d_k)) softmax_p S_k(p):
the decoder's attention for joint k, gated by where the CNN says joint k is (the coupling TS-CAM
uses to make transformer attention localise). The prior is detached, as SPE's CAM peaks are: the
CNN branch learns from its own classification loss only. Declared as a reading "beyond the
paper" (`harness/paper/readings.py`, "response_prior"); without it the module is None.
"""
from __future__ import annotations

import torch
from torch import nn

from models.grid import resample


class CamPrior(nn.Module):
    def __init__(self, cam_stride: int):
        super().__init__()
        self.cam_stride = cam_stride

    def forward(self, class_maps: torch.Tensor, grids: list[tuple[int, int, int]]) -> torch.Tensor:
        """class maps B x K x h x w, memory grids [(stride, h, w)] -> B x K x L log-prior (float32)."""
        s = class_maps.detach().float()
        parts = [resample(s, self.cam_stride, stride, (h, w)).flatten(2) for stride, h, w in grids]
        return torch.log_softmax(torch.cat(parts, dim=2), dim=2)
