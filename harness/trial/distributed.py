"""Data-parallel training: the DistributedDataParallel wrapper of a trial trained by several workers."""
from __future__ import annotations

import torch


def wrap_data_parallel(net: torch.nn.Module, device: torch.device) -> torch.nn.parallel.DistributedDataParallel:
    """`net` in DDP over the process group Ray Train has set up (gloo on CPU, nccl on GPU).

    Why `find_unused_parameters=True`: every trial keeps all three classification heads (later
    analysis reads them in every trial), but not every row trains them: a Table 4 Sup-only row
    (`cls_losses: false`) gives the CAM, encoder and decoder heads no gradient, and plain DDP then
    fails at its second step ("Expected to have finished reduction in the prior iteration").
    Which terms a step has depends on its batch (a semi batch with no labelled instance has no
    MSE term), and DDP's `static_graph` assumes the same set of used parameters at every step;
    `find_unused_parameters` assumes nothing and marks the unused ones ready after each backward
    (one traversal of the autograd graph per step). With one worker it changes no number.
    """
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(net, device_ids=ids, find_unused_parameters=True)
