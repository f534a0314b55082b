"""A trial's optimiser and learning-rate schedule from its `ScheduleConfig`.

Sec. 4.2: "Adam ... with a learning rate of 4e-3 and a weight decay of 1e-4. The learning rate of
transformer is decreased by a factor of 10." Both sentences admit several readings (declared in
`harness/paper/readings.py`, "weight_decay" and "transformer_lr"):

- `decay` "l2" (literal: `torch.optim.Adam`'s weight_decay, an L2 term added to the gradient,
  which Adam then normalises, so a weight the loss barely trains shrinks by ~lr per step),
  "decoupled" (AdamW: theta -= lr * wd * theta beside the Adam step, as DETR trains), "cnn_only"
  (Adam + L2 on the CNN group, none on the transformer group);
- `transformer_scope`: which parameters form the x0.1 group (`models.param_groups`).

The schedule: every group's lr is multiplied by `lr_gamma` after each of `lr_steps` (the paper
gives no epochs; `MultiStepLR`). Beyond the paper, `cnn_lr_drop` "early" multiplies the CNN
branch's lr (backbone and CAM head, a group of their own under either `transformer_scope`) by
`lr_gamma` once more after each of `cnn_lr_steps` (readings round 10).
"""
from __future__ import annotations

from bisect import bisect_right

import torch

from harness.config import ScheduleConfig
from models.build import param_groups


def build_optimizer(net: torch.nn.Module, s: ScheduleConfig) -> torch.optim.Optimizer:
    groups = param_groups(net, s.lr, s.transformer_lr_mult, s.transformer_scope,
                          cnn_branch_apart=s.cnn_lr_drop == "early")
    if s.decay == "decoupled":
        return torch.optim.AdamW(groups, lr=s.lr, weight_decay=s.weight_decay)
    if s.decay == "cnn_only":
        for g in groups:
            g["weight_decay"] = 0.0 if g["name"] == "transformer" else s.weight_decay
    return torch.optim.Adam(groups, lr=s.lr, weight_decay=s.weight_decay)


def step_factor(epoch: int, steps: tuple[int, ...], gamma: float) -> float:
    """gamma ** (how many of `steps` are <= epoch): MultiStepLR's factor after `epoch` epochs."""
    return gamma ** bisect_right(sorted(steps), epoch)


def build_scheduler(optimizer: torch.optim.Optimizer, s: ScheduleConfig) -> torch.optim.lr_scheduler.LRScheduler:
    if s.cnn_lr_drop == "with_all":
        # MultiStepLR as every trial before round 10 ran it: their numbers and checkpoints unchanged
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, list(s.lr_steps), s.lr_gamma)

    # plain functions, not callable objects: LambdaLR's state_dict leaves them out (a resumed trial
    # rebuilds them from its config), so a checkpoint holds no code
    def every_group(epoch: int) -> float:
        return step_factor(epoch, s.lr_steps, s.lr_gamma)

    def cnn_group(epoch: int) -> float:
        return every_group(epoch) * step_factor(epoch, s.cnn_lr_steps, s.lr_gamma)

    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, [cnn_group if g.get("name") == "cnn" else every_group for g in optimizer.param_groups])
