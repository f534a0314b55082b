"""The ladder's read-outs: keypoint maps on the response grid (stride 4) from three sources.

- `responses`: the decoder's response maps, the paper's output (what `metrics` scores);
- `cams`: the CNN branch's class maps S (Eq. 1 before its ReLU, so that a map with no positive
  value still has a peak), brought bilinearly to the response grid with the harness's grid
  convention (`models.grid.resample`);
- `product`: the responses divided by their maximum, times the class maps min-max scaled to
  [0, 1] per map: attention gated by the CAM, the coupling TS-CAM uses to make transformer
  attention localise (beyond the paper).

Each is decoded by the same decoder (`models.decode.decode_responses`); with the flip test, each
is the mean of the map and the mirrored map of the flipped image, as the responses always were.
"""
from __future__ import annotations

import torch

from models.grid import resample

READOUTS = ("responses", "cams", "product")
HEADS = ("cnn", "encoder", "decoder")
# The class probabilities that score each read-out's keypoints (the head that produced the map).
SCORED_BY = {"responses": "decoder", "cams": "cnn", "product": "decoder"}
RESPONSE_STRIDE = 4


def _unflip(maps: torch.Tensor, perm: list[int]) -> torch.Tensor:
    return torch.flip(maps, dims=[3])[:, perm]


def readout_maps(out: dict, flipped: dict | None, perm: list[int], cam_stride: int) -> dict[str, torch.Tensor]:
    """The three read-outs' B x K x h x w float32 maps from the network's outputs (and the
    outputs of the flipped images, or None without the flip test)."""
    responses = out["responses"].float()
    size = tuple(responses.shape[-2:])
    cams = resample(out["class_maps"].float(), cam_stride, RESPONSE_STRIDE, size)
    if flipped is not None:
        responses = 0.5 * (responses + _unflip(flipped["responses"].float(), perm))
        back = resample(flipped["class_maps"].float(), cam_stride, RESPONSE_STRIDE, size)
        cams = 0.5 * (cams + _unflip(back, perm))
    return {"responses": responses, "cams": cams, "product": product(responses, cams)}


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
