from __future__ import annotations

import math

import torch
from torch import nn

from models.choices import MEMORY_GRADIENTS, PART_POOLINGS
from models.decoder_head import decoder_outputs
from models.grid import resample
from models.response_merge import MERGES, RESPONSE_STRIDE, merge_scales
from models.spe import cam_peaks, gaussian_maps


class LOFR(nn.Module):
    def __init__(self, backbone: nn.Module, cam: nn.Module, input_proj: nn.ModuleDict, encoders: nn.ModuleList,
                 decoder: nn.Module, *, num_keypoints: int, d_model: int, strides: tuple[int, ...], cam_stride: int,
                 spe: nn.ModuleDict | None = None, spe_sigma_px: float = 16.0,
                 position: nn.ModuleDict | None = None, reppg: nn.Module | None = None,
                 decoder_lse_r: float = 0.0, response_merge: str = "density", part_pooling: str = "mean",
                 memory_gradient: str = "through", response_prior: nn.Module | None = None,
                 decoder_position: bool = True):
        """
        Args:
            backbone: images -> {stride: feature map}, covering `strides` and `cam_stride`.
            cam: `models.cam.CAMHead` on the `cam_stride` map (with `embed_dim` when `reppg`).
            input_proj: str(stride) -> 1x1 conv to d_model, one per transformer scale.
            encoders: one encoder shared by all scales, or one per scale (in `strides` order).
            decoder: `models.decoder.Decoder`.
            strides: transformer scales, (8,) or (4, 8, 16).
            spe: str(stride) -> `SpatialPositionEncoding`, or None (then `position` is required).
            spe_sigma_px: sigma of the F_key Gaussians in crop pixels.
            position: str(stride) -> `LearnedPositionEmbedding`, or None (with SPE in its place, the
                paper). Both given: SPE's output with the learned embedding beside it, added in
                every attention as without SPE (`spe_position: beside`, beyond the paper).
            decoder_position: whether the decoder's keys carry `position` (memory + embedding, as
                DETR's); False keeps it in the encoder's attention alone (`spe_position: encoder`,
                beyond the paper: readings round 24 found the embedding in the keys beside RePPG's
                near-identical prototypes drawing LOFR's responses off the CAMs).
            reppg: `models.reppg.RePPG`, or None for learned query embeddings.
            decoder_lse_r: the log-sum-exp sharpness r of `part_pooling` "lse" (> 0) and "score_map"
                (0 there means r = 1); unused by "mean".
            response_merge: "value" or "density" (`models.response_merge`).
            part_pooling: "mean" (the paper's head), "lse" or "score_map" (`models.decoder_head`);
                `decoder` must read attention logits (`read="logits"`) for "score_map", weights otherwise.
            memory_gradient: "through" (the paper: every loss trains the backbone) or "stopped"
                (beyond the paper): the transformer reads the backbone maps detached, so the
                backbone learns from the CNN branch's losses alone (and RePPG's, unless the CAM
                head stops them too).
            response_prior: `models.response_prior.CamPrior` (beyond the paper), or None.
        """
        super().__init__()
        if spe is None and position is None:
            raise ValueError("spe or position (or both) must be given")
        if len(encoders) not in (1, len(strides)):
            raise ValueError(f"{len(encoders)} encoders for {len(strides)} scales")
        self.backbone, self.cam, self.input_proj, self.encoders, self.decoder = backbone, cam, input_proj, encoders, decoder
        self.spe, self.position, self.reppg, self.response_prior = spe, position, reppg, response_prior
        self.strides, self.cam_stride, self.spe_sigma_px = tuple(strides), cam_stride, spe_sigma_px
        if response_merge not in MERGES:
            raise ValueError(f"response_merge must be 'value' or 'density', got {response_merge!r}")
        if part_pooling not in PART_POOLINGS:
            raise ValueError(f"part_pooling must be one of {PART_POOLINGS}, got {part_pooling!r}")
        if part_pooling == "lse" and decoder_lse_r <= 0:
            raise ValueError("part_pooling 'lse' needs decoder_lse_r > 0")
        if memory_gradient not in MEMORY_GRADIENTS:
            raise ValueError(f"memory_gradient must be one of {MEMORY_GRADIENTS}, got {memory_gradient!r}")
        self.response_merge, self.part_pooling = response_merge, part_pooling
        self.memory_gradient = memory_gradient
        self.decoder_position = decoder_position
        # score_map's logit pools the attention logits themselves; r = 1 unless given
        self.decoder_lse_r = decoder_lse_r if decoder_lse_r > 0 or part_pooling != "score_map" else 1.0
        self.encoder_head = nn.Linear(d_model, num_keypoints)
        # w_k of the decoder head; "score_map" has none (its logit is the pooled attention logits)
        self.decoder_head_weight = None
        if part_pooling != "score_map":
            self.decoder_head_weight = nn.Parameter(torch.empty(num_keypoints, d_model))
        self.decoder_head_bias = nn.Parameter(torch.zeros(num_keypoints))
        if self.decoder_head_weight is not None:
            nn.init.uniform_(self.decoder_head_weight, -1 / math.sqrt(d_model), 1 / math.sqrt(d_model))
        # Fig. 6a, "random initialization": the learned queries as built (a copy, untouched by
        # training); with RePPG, which has no free queries, the same random draw stands for them.
        initial = torch.randn(num_keypoints, d_model)
        self.query_embed = nn.Parameter(initial.clone()) if reppg is None else None
        self.register_buffer("initial_prototypes", initial)

    def forward(self, images: torch.Tensor) -> dict:
        """images B x 3 x H x W (normalised). Returns:
            logits: {cnn, encoder, decoder}: B x K each (float32, before the sigmoid)
            cams: B x K x H/c x W/c (Eq. 1, c = cam_stride); class_maps: the same before the ReLU
            responses: B x K x H/4 x W/4 (float32; last decoder layer's cross-attention, head mean,
                scales merged onto the stride-4 grid)
            part_features: B x K x d (float32), prototypes: B x K x d (decoder queries)
            attention: B x K x L (float32; R over the concatenated memory, before the scales are merged)
            memory: B x L x d (F_m); grids: [(stride, h, w)] of its scales, in order
        """
        b, _, height, width = images.shape
        feats = self.backbone(images)
        cam = self.cam(feats[self.cam_stride])
        if self.memory_gradient == "stopped":  # the transformer's losses stop at its input projections
            feats = {stride: f.detach() for stride, f in feats.items()}
        memory, memory_pos, grids = self.encode(feats, cam["class_maps"])
        logits_encoder = self.encoder_head(memory.mean(dim=1)).float()
        if self.reppg is not None:
            prototypes = self.reppg(cam["keypoint_vectors"])
        else:
            prototypes = self.query_embed.unsqueeze(0).expand(b, -1, -1)
        prior = None if self.response_prior is None else self.response_prior(cam["class_maps"], grids)
        decoded = self.decoder(prototypes, memory, memory_pos, prior)  # B x K x L, float32
        response, part_features, logits_decoder = decoder_outputs(
            self.part_pooling, decoded, memory, self.decoder_head_weight, self.decoder_head_bias, self.decoder_lse_r)
        size = (math.ceil(height / RESPONSE_STRIDE), math.ceil(width / RESPONSE_STRIDE))
        return {
            "logits": {"cnn": cam["logits"], "encoder": logits_encoder, "decoder": logits_decoder},
            "cams": cam["cams"], "class_maps": cam["class_maps"], "responses": merge_scales(response, grids, size, self.response_merge),
            "part_features": part_features, "prototypes": prototypes, "attention": response,
            "memory": memory, "grids": grids,
        }

    def token_scores(self, memory: torch.Tensor, grids: list[tuple[int, int, int]],
                     size: tuple[int, int]) -> torch.Tensor | None:
        """The decoder head's class score of every memory token, w_k . F_m(p), on the stride-4 grid
        `size` (B x K x h x w, float32; each scale resampled there, the scales' maximum kept): where
        the memory holds joint k, whether or not the attention looks there. None without a w_k
        ("score_map", whose responses are these scores' softmax)."""
        if self.decoder_head_weight is None:
            return None
        scores = torch.einsum("kd,bld->bkl", self.decoder_head_weight.float(), memory.float())
        b, k = scores.shape[:2]
        merged, offset = None, 0
        for stride, h, w in grids:
            part = resample(scores[:, :, offset: offset + h * w].reshape(b, k, h, w), stride, RESPONSE_STRIDE, size)
            merged = part if merged is None else torch.maximum(merged, part)
            offset += h * w
        return merged

    def encode(self, feats: dict[int, torch.Tensor], class_maps: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor | None, list[tuple[int, int, int]]]:
        """MSC-En: backbone maps {stride: B x C x h x w} and the CNN branch's class maps (SPE's
        peaks) -> memory F_m B x L x d, the decoder's position embedding for it (B x L x d, or None
        with SPE alone or with the embedding kept to the encoder) and the [(stride, h, w)] of its scales."""
        peaks = cam_peaks(class_maps, self.cam_stride) if self.spe is not None else None
        memories, positions, grids = [], [], []
        for i, stride in enumerate(self.strides):
            f = self.input_proj[str(stride)](feats[stride])
            h, w = f.shape[-2:]
            pos = None
            if self.spe is not None:
                key_maps = gaussian_maps(peaks, h, w, stride, self.spe_sigma_px)
                f = self.spe[str(stride)](f, key_maps)
            if self.position is not None:
                pos = self.position[str(stride)](f)
                positions.append(pos)
            encoder = self.encoders[min(i, len(self.encoders) - 1)]
            memories.append(encoder(f.flatten(2).transpose(1, 2), pos))
            grids.append((stride, h, w))
        memory_pos = torch.cat(positions, dim=1) if positions and self.decoder_position else None
        return torch.cat(memories, dim=1), memory_pos, grids
