"""The ladder's read-outs: keypoint maps on the response grid (stride 4) from three sources.

- `responses`: the decoder's response maps, the paper's output (what `metrics` scores);
- `cams`: the CNN branch's class maps S (Eq. 1 before its ReLU, so that a map with no positive
  value still has a peak), brought bilinearly to the response grid with the harness's grid
  convention (`models.grid.resample`);
- `product`: the responses divided by their maximum, times the class maps min-max scaled to
  [0, 1] per map: attention gated by the CAM, the coupling TS-CAM uses to make transformer
  attention localise (beyond the paper);
- `token_scores`: the decoder head's score of every memory token, w_k . F_m(p)
  (`models.lofr.LOFR.token_scores`, put in the outputs as "token_scores" by the evaluation): where
  the memory holds joint k, whether or not the attention looks there. Absent without a w_k.

Each is decoded by the same decoder (`models.decode.decode_responses`); with the flip test, each
is the mean of the map and the map of the mirrored image brought back (`unflip`).

Bringing a mirrored map back: the crop mirror is x -> W - 1 - x (the data layer's flip), and
grid column j of a stride-s map sits at pixel j * s, so the mirrored image's column j' stands for
the original pixel W - 1 - j' s, i.e. the original column (W - 1) / s - j'. Reversing the columns
(`torch.flip`) puts it at column (w - 1) - j', which is off by (W - 1) / s - (w - 1) columns:
0.75 of a stride-4 cell (3 px) at any width that is a multiple of 4. Averaging two maps 3 px
apart moved every flip-tested peak 1.5 px to the left (about 30 % of the box PCK@0.1 threshold
of a 64 x 48 crop); `unflip` shifts the reversed map by that fraction of a cell (linear
interpolation, the border column repeated).
"""
from __future__ import annotations

import torch

from harness.record import HEADS, READOUTS  # noqa: F401 (the ladder's names, shared with the report)
from models.grid import resample

# The class probabilities that score each read-out's keypoints (the head that produced the map).
SCORED_BY = {"responses": "decoder", "cams": "cnn", "product": "decoder", "token_scores": "decoder"}
RESPONSE_STRIDE = 4


def unflip(maps: torch.Tensor, perm: list[int], width: int, stride: int = RESPONSE_STRIDE) -> torch.Tensor:
    """B x K x h x w maps of the mirrored crop (width `width` px, stride `stride`) -> the same maps
    in the original crop's frame: columns mirrored about x = (W - 1) / 2, channels swapped by `perm`."""
    flipped = torch.flip(maps, dims=[3])[:, perm]
    w = maps.shape[-1]
    shift = (width - 1) / stride - (w - 1)
    pos = (torch.arange(w, device=maps.device, dtype=torch.float32) - shift).clamp(0, w - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=w - 1)
    frac = (pos - lo.float()).to(maps.dtype)
    return flipped[..., lo] * (1 - frac) + flipped[..., hi] * frac


def readout_maps(out: dict, flipped: dict | None, perm: list[int], cam_stride: int,
                 width: int) -> dict[str, torch.Tensor]:
    """The read-outs' B x K x h x w float32 maps from the network's outputs (and the outputs of
    the mirrored images, or None without the flip test); `width`: the crop's in px. `token_scores`
    is there when the outputs carry it."""
    responses = out["responses"].float()
    size = tuple(responses.shape[-2:])
    cams = resample(out["class_maps"].float(), cam_stride, RESPONSE_STRIDE, size)
    if flipped is not None:
        responses = 0.5 * (responses + unflip(flipped["responses"].float(), perm, width))
        back = resample(flipped["class_maps"].float(), cam_stride, RESPONSE_STRIDE, size)
        cams = 0.5 * (cams + unflip(back, perm, width))
    maps = {"responses": responses, "cams": cams, "product": product(responses, cams)}
    tokens = out.get("token_scores")
    if tokens is not None:
        tokens = tokens.float()
        if flipped is not None:
            tokens = 0.5 * (tokens + unflip(flipped["token_scores"].float(), perm, width))
        maps["token_scores"] = tokens
    return maps


def product(responses: torch.Tensor, cams: torch.Tensor) -> torch.Tensor:
    """responses / max(responses) x (cams - min) / (max - min), per map (a flat CAM counts as 0)."""
    r = responses / responses.flatten(2).amax(dim=2).clamp_min(1e-12)[..., None, None]
    lo = cams.flatten(2).amin(dim=2)[..., None, None]
    span = cams.flatten(2).amax(dim=2)[..., None, None] - lo
    scaled = torch.where(span > 0, (cams - lo) / span.clamp_min(1e-12), torch.zeros_like(cams))
    return r * scaled


def head_probabilities(out: dict, flipped: dict | None, perm: list[int]) -> dict[str, torch.Tensor]:
    """Each logit head's B x K probabilities (the flip test's mean over the image and its mirror)."""
    probs = {h: torch.sigmoid(out["logits"][h].float()) for h in HEADS}
    if flipped is not None:
        probs = {h: 0.5 * (p + torch.sigmoid(flipped["logits"][h].float())[:, perm]) for h, p in probs.items()}
    return probs
