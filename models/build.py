"""`build_model`, `build_criterion`, `param_groups`: the only code that reads `LOFRConfig`.

Scales: with `multi_scale` the transformer sees strides 4, 8, 16; without it stride 8 only (as
TransPose). The CAM branch reads the stride-`cam_stride` map (16 by default: the deepest map
the backbone keeps). Input projections are plain 1x1 convs to d_model (DETR's `input_proj`).
With MS and `shared_encoder` one encoder serves the three scales; otherwise one per scale.

Parameter groups (the paper's "the learning rate of transformer is decreased by a factor of
10"; which modules count as "the transformer" is a declared reading, `harness/paper/readings.py`,
"transformer_lr"): with `transformer_scope="all_but_cnn"` (literal) the CNN (backbone and CAM
branch, Sec. 3.2) is at `lr` and everything else -- input projections, SPE / position
embeddings, encoders, RePPG, queries, decoder and heads -- at `lr * transformer_lr_mult`; with
"layers" only the encoder and decoder layers are at the lower rate, the rest at `lr`.
"""
from __future__ import annotations

import math

from torch import nn

from models.backbone import build_backbone
from models.cam import CAMHead
from models.choices import TRANSFORMER_SCOPES
from models.config import LOFRConfig
from models.criterion import LOFRCriterion
from models.decoder import Decoder
from models.encoder import Encoder
from models.lofr import LOFR
from models.position import LearnedPositionEmbedding
from models.reppg import RePPG, skeleton_adjacency
from models.response_prior import CamPrior
from models.spe import SpatialPositionEncoding

CNN_PREFIXES = ("backbone.", "cam.")
TRANSFORMER_LAYER_PREFIXES = ("encoders.", "decoder.")


def build_model(cfg: LOFRConfig) -> LOFR:
    strides = (4, 8, 16) if cfg.multi_scale else (8,)
    backbone = build_backbone(cfg.backbone, tuple(sorted(set(strides) | {cfg.cam_stride})), cfg.pretrained)
    channels = backbone.num_channels
    k, d = cfg.num_keypoints, cfg.d_model
    cam = CAMHead(channels[cfg.cam_stride], k, embed_dim=d if cfg.reppg else None,
                  pooling=cfg.cam_pooling, lse_r=cfg.cam_lse_r, vector_weights=cfg.keypoint_vector_weights,
                  vector_gradient=cfg.keypoint_vector_gradient)
    input_proj = nn.ModuleDict({str(s): nn.Conv2d(channels[s], d, kernel_size=1) for s in strides})
    spe = position = None
    if cfg.spe:
        spe = nn.ModuleDict({str(s): SpatialPositionEncoding(k, d, cfg.spe_fusion) for s in strides})
    if not cfg.spe or cfg.spe_position in ("beside", "encoder"):
        height, width = cfg.input_size
        position = nn.ModuleDict({str(s): LearnedPositionEmbedding(d, math.ceil(height / s), math.ceil(width / s))
                                  for s in strides})
    n_encoders = 1 if cfg.shared_encoder else len(strides)
    encoders = nn.ModuleList(Encoder(cfg.enc_layers, d, cfg.nhead, cfg.dim_feedforward, cfg.dropout)
                             for _ in range(n_encoders))
    reppg = RePPG(d, skeleton_adjacency(k, cfg.skeleton), cfg.gcn_layers) if cfg.reppg else None
    decoder = Decoder(cfg.dec_layers, d, cfg.nhead, cfg.dim_feedforward, cfg.dropout,
                      read="logits" if cfg.part_pooling == "score_map" else "weights")
    return LOFR(backbone, cam, input_proj, encoders, decoder, num_keypoints=k, d_model=d, strides=strides,
                cam_stride=cfg.cam_stride, spe=spe, spe_sigma_px=cfg.spe_sigma * cfg.cam_stride,
                position=position, reppg=reppg, decoder_lse_r=cfg.decoder_lse_r,
                response_merge=cfg.response_merge, part_pooling=cfg.part_pooling,
                memory_gradient=cfg.memory_gradient,
                decoder_position=not (cfg.spe and cfg.spe_position == "encoder"),
                response_prior=CamPrior(cfg.cam_stride) if cfg.response_prior == "cam" else None)


def build_criterion(cfg: LOFRConfig, flip_pairs: tuple[tuple[int, int], ...] = ()) -> LOFRCriterion:
    """`flip_pairs`: the dataset's (left, right) joint pairs, which `mirror_div: cams` needs (a fact
    of the dataset, not of the model: the caller passes its spec's)."""
    if cfg.mirror_div == "cams" and not flip_pairs:
        raise ValueError("mirror_div 'cams' needs the dataset's flip pairs (build_criterion(cfg, flip_pairs=...))")
    return LOFRCriterion(alpha=cfg.alpha, alpha1=cfg.alpha1, alpha2=cfg.alpha2, beta=cfg.beta,
                         mse_weight=cfg.mse_weight, cls_losses=cfg.cls_losses, pdc=cfg.pdc,
                         pdc_on=cfg.pdc_on,
                         mirror_pairs=tuple(flip_pairs) if cfg.mirror_div == "cams" else None,
                         mirror_weight=cfg.mirror_weight, mirror_r=cfg.cam_lse_r)


def param_groups(model: nn.Module, lr: float, transformer_lr_mult: float,
                 transformer_scope: str = "all_but_cnn", cnn_branch_apart: bool = False) -> list[dict]:
    """Optimizer parameter groups: {"name": "cnn", lr} and {"name": "transformer", lr * mult}
    (module docstring: `transformer_scope` says which parameters are "the transformer"; with
    "layers" the "cnn" group holds every parameter outside the encoder and decoder layers).
    `cnn_branch_apart`: the "cnn" group holds the CNN branch alone (backbone and CAM head) under
    either scope, the other parameters at `lr` in a group "other" (for a schedule that treats
    the CNN branch apart, `harness/trial/optimizer.py`).

    Every trainable parameter is in exactly one group; an empty group is left out.
    """
    if transformer_scope not in TRANSFORMER_SCOPES:
        raise ValueError(f"transformer_scope must be one of {TRANSFORMER_SCOPES}, got {transformer_scope!r}")
    cnn, other, transformer = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith(CNN_PREFIXES):
            cnn.append(p)
        elif transformer_scope == "layers" and not name.startswith(TRANSFORMER_LAYER_PREFIXES):
            (other if cnn_branch_apart else cnn).append(p)
        else:
            transformer.append(p)
    groups = [{"name": "cnn", "params": cnn, "lr": lr}, {"name": "other", "params": other, "lr": lr},
              {"name": "transformer", "params": transformer, "lr": lr * transformer_lr_mult}]
    return [g for g in groups if g["params"]]
