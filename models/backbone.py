"""CNN backbones that return feature maps at strides 4, 8 and 16.

ResNet-18/50 come from torchvision (stem, layer1..layer3: strides 4, 8, 16; layer4 and the
classifier are dropped), HRNet-W32/W48 from timm (`features_only`, the raw branch outputs of
the last stage, as pose HRNets use them: widths w, 2w, 4w at strides 4, 8, 16).

Only the strides a model needs are built or kept, so that every parameter receives a gradient
(DistributedDataParallel refuses parameters that feed nothing). For HRNet that means replacing
the last module's fuse layers of the unused outputs (always the stride-32 one) with a
parameter-free identity; HRNet's four branches need an input that is a multiple of 32, so the
image is zero-padded on the right / bottom and the features cropped back.

Weights: random initialisation unless `pretrained` names a local checkpoint (a state dict, or a
dict holding one under `state_dict` or `model`), read with `torch.load(weights_only=True)` into
the torchvision / timm module before it is trimmed. Nothing is ever downloaded.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from models.choices import BACKBONE_STRIDES as STRIDES


class ResNetBackbone(nn.Module):
    """torchvision ResNet trunk; `forward` returns {stride: B x C_s x H/s x W/s}."""

    def __init__(self, name: str, strides: tuple[int, ...], pretrained: str | None = None):
        super().__init__()
        import torchvision

        net = getattr(torchvision.models, name)(weights=None)
        if pretrained:
            load_checkpoint(net, pretrained, keep=_resnet_prefixes(max(strides)))
        self.strides = tuple(sorted(strides))
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        layers = [net.layer1, net.layer2, net.layer3]
        self.layers = nn.ModuleList(layers[: STRIDES.index(max(self.strides)) + 1])
        widths = [_out_channels(layer) for layer in layers]
        self.num_channels = {s: widths[STRIDES.index(s)] for s in self.strides}

    def forward(self, images: torch.Tensor) -> dict[int, torch.Tensor]:
        x = self.stem(images)
        out = {}
        for stride, layer in zip(STRIDES, self.layers):
            x = layer(x)
            if stride in self.strides:
                out[stride] = x
        return out


class HRNetBackbone(nn.Module):
    """timm HRNet, raw branch outputs of the last stage; `forward` returns {stride: map}."""

    def __init__(self, name: str, strides: tuple[int, ...], pretrained: str | None = None):
        super().__init__()
        import timm

        self.strides = tuple(sorted(strides))
        out_indices = tuple(STRIDES.index(s) + 1 for s in self.strides)  # index 0 is the stride-2 stem
        net = timm.create_model(name, pretrained=False, features_only=True, feature_location="",
                                out_indices=out_indices)
        if pretrained:
            load_checkpoint(net, pretrained, keep=None)
        # The last module fuses its branches into one output per stride; the outputs we do not
        # return would hold parameters without gradients. A list holding one identity makes that
        # output a free copy of branch 0 (fuse_layers[i][0] is the identity when i == 0).
        last = net.stage4[-1]
        for i in range(len(last.fuse_layers)):
            if i + 1 not in out_indices:
                last.fuse_layers[i] = nn.ModuleList([nn.Identity()])
        self.net = net
        self.num_channels = dict(zip(self.strides, net.feature_info.channels()))

    def forward(self, images: torch.Tensor) -> dict[int, torch.Tensor]:
        h, w = images.shape[-2:]
        pad_h, pad_w = (-h) % 32, (-w) % 32
        if pad_h or pad_w:
            images = F.pad(images, (0, pad_w, 0, pad_h))
        feats = self.net(images)
        return {s: f[..., : math.ceil(h / s), : math.ceil(w / s)] for s, f in zip(self.strides, feats)}


def build_backbone(name: str, strides: tuple[int, ...], pretrained: str | None = None) -> nn.Module:
    """`name` in resnet18, resnet50, hrnet_w32, hrnet_w48; `strides` a subset of (4, 8, 16)."""
    if not strides or any(s not in STRIDES for s in strides):
        raise ValueError(f"strides must be a non-empty subset of {STRIDES}, got {strides}")
    if name.startswith("resnet"):
        return ResNetBackbone(name, strides, pretrained)
    if name.startswith("hrnet"):
        return HRNetBackbone(name, strides, pretrained)
    raise ValueError(f"unknown backbone {name!r}")


class CheckpointError(ValueError):
    """A pretrained checkpoint that is missing or does not fit the backbone (the user must fix it)."""


def load_checkpoint(net: nn.Module, path: str, keep: tuple[str, ...] | None) -> None:
    """Load a local checkpoint into `net`: every parameter / buffer `net` keeps (names starting
    with one of `keep`, or all when None) must be in the file with the right shape; extra keys
    (a classifier, layer4, HRNet's incremental heads) are ignored. Raises `CheckpointError`."""
    file = Path(path)
    if not file.is_file():
        raise CheckpointError(f"{file}: pretrained checkpoint not found")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 -- any unreadable file is the user's to fix, said in one line
        raise CheckpointError(f"{file}: not a readable torch checkpoint ({type(exc).__name__})") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = net.state_dict()
    wanted = [k for k in own if keep is None or k.startswith(keep)]
    missing = [k for k in wanted if k not in state]
    wrong = [k for k in wanted if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        what = f"{len(missing)} missing keys (e.g. {missing[:3]})" if missing else ""
        what += f"{'; ' if what else ''}{len(wrong)} shape mismatches (e.g. {wrong[:3]})" if wrong else ""
        raise CheckpointError(f"{file}: not a checkpoint of this backbone: {what}")
    net.load_state_dict({k: state[k] for k in wanted}, strict=False)


def _resnet_prefixes(max_stride: int) -> tuple[str, ...]:
    layers = ("layer1", "layer2", "layer3")[: STRIDES.index(max_stride) + 1]
    return ("conv1.", "bn1.") + tuple(f"{name}." for name in layers)


def _out_channels(layer: nn.Sequential) -> int:
    block = layer[-1]
    last_bn = block.bn3 if hasattr(block, "bn3") else block.bn2
    return last_bn.num_features
