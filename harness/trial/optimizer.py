"""A trial's optimiser and learning-rate schedule from its `ScheduleConfig`.

Sec. 4.2: "Adam ... with a learning rate of 4e-3 and a weight decay of 1e-4. The learning rate of
transformer is decreased by a factor of 10." Both sentences admit several readings (declared in
`harness/paper/readings.py`, "weight_decay" and "transformer_lr"):

- `decay` "l2" (literal: `torch.optim.Adam`'s weight_decay, an L2 term added to the gradient,
  which Adam then normalises, so a weight the loss barely trains shrinks by ~lr per step),
  "decoupled" (AdamW: theta -= lr * wd * theta beside the Adam step, as DETR trains), "cnn_only"
  (Adam + L2 on the CNN group, none on the transformer group);
- `transformer_scope`: which parameters form the x0.1 group (`models.param_groups`).
"""
from __future__ import annotations

import torch

from harness.config import ScheduleConfig
from models.build import param_groups


def build_optimizer(net: torch.nn.Module, s: ScheduleConfig) -> torch.optim.Optimizer:
    groups = param_groups(net, s.lr, s.transformer_lr_mult, s.transformer_scope)
    if s.decay == "decoupled":
        return torch.optim.AdamW(groups, lr=s.lr, weight_decay=s.weight_decay)
    if s.decay == "cnn_only":
        for g in groups:
            g["weight_decay"] = s.weight_decay if g["name"] == "cnn" else 0.0
    return torch.optim.Adam(groups, lr=s.lr, weight_decay=s.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, s: ScheduleConfig) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, list(s.lr_steps), s.lr_gamma)
