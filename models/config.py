"""`LOFRConfig`: every hyper-parameter of the network and its losses, as one typed dataclass.

Only `models.build.build_model` / `build_criterion` read it; the modules they build receive
plain values. Switch names follow the paper: `spe`, `multi_scale`, `reppg`, `pdc`,
`enc_layers`, `dec_layers`. Where the paper's words admit several readings, the field's values are
the readings and its default the literal one; each such passage is declared once, with its quote
and tagged choices, in `harness/paper/readings.py` (`harness readings` prints them). Fields marked
"beyond the paper" are probes that default to the paper's behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass

from models.choices import (CAM_POOLINGS, CAM_STRIDES, MEMORY_GRADIENTS, MIRROR_TERMS, PART_POOLINGS, PDC_TARGETS,
                            RESPONSE_MERGES, RESPONSE_PRIORS, SPE_FUSIONS, SPE_POSITIONS, VECTOR_GRADIENTS, VECTOR_WEIGHTS)

BACKBONES = ("resnet18", "resnet50", "hrnet_w32", "hrnet_w48")
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
    (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)


@dataclass
class LOFRConfig:
    backbone: str = "resnet50"
    input_size: tuple[int, int] = (256, 192)  # (height, width) of the person crop
    # COCO's 17 keypoints and the 0-based skeleton of its annotation file, written out so that
    # `models` needs nothing of the harness (the matrix sets both from the dataset's spec).
    num_keypoints: int = 17
    skeleton: tuple[tuple[int, int], ...] = COCO_SKELETON
    d_model: int = 256
    nhead: int = 8
    enc_layers: int = 4
    dec_layers: int = 6
    dim_feedforward: int = 1024
    dropout: float = 0.1
    # The paper's modules (Table 5). All off = the DETR-style baseline.
    spe: bool = True
    multi_scale: bool = True
    reppg: bool = True
    pdc: bool = True
    # Eq. 13 weights, and Eq. 15's weight on the supervised MSE term.
    alpha: float = 0.2
    alpha1: float = 0.2
    alpha2: float = 0.5
    beta: float = 0.1
    mse_weight: float = 1.0
    # False for Table 4's Sup-only rows: the criterion then has no classification terms.
    cls_losses: bool = True
    pretrained: str | None = None  # local checkpoint path; nothing is downloaded
    # Ambiguities of the paper made explicit (see the module docstrings).
    shared_encoder: bool = True  # MS: one encoder for the three scales
    gcn_layers: int = 2  # RePPG: SemGCN layers
    spe_sigma: float = 1.0  # SPE: Gaussian sigma of F_key, in feature cells
    heatmap_sigma: float = 2.0  # MSE targets: Gaussian sigma in stride-4 cells
    cam_stride: int = 16  # CAM branch on the stride-16 (deepest kept), stride-8 or stride-4 backbone map
    spe_fusion: str = "product"  # SPE Eq. 3 (models/spe.py): "product", "embed" or "outer"
    # SPE in place of the learned position embedding ("replace", the paper) or beside it, beyond the
    # paper: in every attention as the baseline's ("beside"), or in the encoder's alone, the decoder's
    # keys without it as with SPE in its place ("encoder"); read only with SPE
    spe_position: str = "replace"
    # Eq. 2: which map weights X^c in the keypoint vectors (models/cam.py): "x_prime" (literal),
    # "cam", "cam_normalised", "cam_softmax"
    keypoint_vector_weights: str = "x_prime"
    # Beyond the paper: "stopped" keeps RePPG's gradient out of the CNN branch (backbone, X', the FC):
    # Eq. 2 reads them detached and only X^c's 1x1 conv learns from the prototypes (models/cam.py)
    keypoint_vector_gradient: str = "through"
    # Beyond the paper: "stopped" feeds the transformer the backbone maps detached, so that only the
    # CNN branch's own losses train the backbone (models/lofr.py)
    memory_gradient: str = "through"
    # PDC, Eq. 11: the cosines of the part features F^p_i (literal) or of the response maps R_i
    # ("response_maps"), the attention weights whose overlap the paper's next sentence describes
    pdc_on: str = "part_features"
    # Beyond the paper: "cams" adds the term `mirror` (weight `mirror_weight`): the overlap of the
    # class maps of each left/right pair (the dataset's flip pairs) where both joints are labelled,
    # as the LSE pooling reads them (softmax at cam_lse_r; needs cam_pooling "lse")
    mirror_div: str = "none"
    mirror_weight: float = 0.1
    # RGP-De's "pooling operation" (models/decoder_head.py): "mean" (literal), "lse", "score_map"
    part_pooling: str = "mean"
    # MS: how each scale's slice of R reaches the stride-4 `responses` grid (see models/lofr.py):
    # "value" resamples the attention weights as they are; "density" divides them by the area of
    # a memory cell in stride-4 cells, so the merged map is one distribution over the crop.
    response_merge: str = "density"
    # Beyond the paper (off by default): CAM pooling `gap` (the paper) or `lse`.
    cam_pooling: str = "gap"
    cam_lse_r: float = 5.0  # sharpness r of the log-sum-exp CAM pooling (only with cam_pooling="lse")
    # r of part_pooling "lse" (logit (1/r) log sum_p R_k(p) exp(r w_k.F_m(p)), > 0) and "score_map"
    # (0 = r 1); must stay 0 with "mean" (the paper's linear head, the r -> 0 limit of "lse").
    decoder_lse_r: float = 0.0
    # Beyond the paper: "cam" gates the response maps by the CNN's class maps (models/response_prior.py)
    response_prior: str = "none"

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        self.input_size = tuple(int(v) for v in self.input_size)  # type: ignore[assignment]
        self.skeleton = tuple(tuple(int(v) for v in e) for e in self.skeleton)  # type: ignore[assignment]
        if len(self.input_size) != 2 or min(self.input_size) < 32 or any(v % 16 for v in self.input_size):
            raise ValueError(f"input_size must be (h, w), multiples of 16 and >= 32, got {self.input_size}")
        for name in ("num_keypoints", "d_model", "nhead", "dim_feedforward", "spe_sigma", "heatmap_sigma"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0 or min(self.alpha, self.alpha1, self.alpha2, self.beta, self.mse_weight,
                                                      self.mirror_weight) < 0:
            raise ValueError("dropout must be in [0, 1) and the loss weights (alpha, alpha1, alpha2, beta, "
                             "mse_weight, mirror_weight) >= 0")
        if self.d_model % self.nhead:
            raise ValueError(f"d_model {self.d_model} is not divisible by nhead {self.nhead}")
        if self.enc_layers < 0 or self.dec_layers < 1:
            raise ValueError("enc_layers must be >= 0 and dec_layers >= 1")
        if self.cam_pooling not in CAM_POOLINGS:
            raise ValueError(f"cam_pooling must be 'gap' or 'lse', got {self.cam_pooling!r}")
        if self.cam_stride not in CAM_STRIDES:
            raise ValueError(f"cam_stride must be one of {', '.join(map(str, CAM_STRIDES))}, got {self.cam_stride!r}")
        if self.spe_fusion not in SPE_FUSIONS:
            raise ValueError(f"spe_fusion must be one of {', '.join(SPE_FUSIONS)}, got {self.spe_fusion!r}")
        if self.spe_position not in SPE_POSITIONS:
            raise ValueError(f"spe_position must be one of {', '.join(SPE_POSITIONS)}, got {self.spe_position!r}")
        if self.keypoint_vector_weights not in VECTOR_WEIGHTS:
            raise ValueError(f"keypoint_vector_weights must be one of {', '.join(VECTOR_WEIGHTS)}, "
                             f"got {self.keypoint_vector_weights!r}")
        if self.keypoint_vector_gradient not in VECTOR_GRADIENTS:
            raise ValueError(f"keypoint_vector_gradient must be one of {', '.join(VECTOR_GRADIENTS)}, "
                             f"got {self.keypoint_vector_gradient!r}")
        if self.pdc_on not in PDC_TARGETS:
            raise ValueError(f"pdc_on must be one of {', '.join(PDC_TARGETS)}, got {self.pdc_on!r}")
        if self.mirror_div not in MIRROR_TERMS:
            raise ValueError(f"mirror_div must be one of {', '.join(MIRROR_TERMS)}, got {self.mirror_div!r}")
        if self.mirror_div == "cams" and self.cam_pooling != "lse":
            # the term compares where the LSE pooling reads each map; GAP reads every position alike
            raise ValueError("mirror_div 'cams' compares the LSE pooling's softmax maps: it needs cam_pooling 'lse'")
        if self.memory_gradient not in MEMORY_GRADIENTS:
            raise ValueError(f"memory_gradient must be one of {', '.join(MEMORY_GRADIENTS)}, got {self.memory_gradient!r}")
        if self.response_prior not in RESPONSE_PRIORS:
            raise ValueError(f"response_prior must be one of {', '.join(RESPONSE_PRIORS)}, got {self.response_prior!r}")
        if self.part_pooling not in PART_POOLINGS:
            raise ValueError(f"part_pooling must be one of {', '.join(PART_POOLINGS)}, got {self.part_pooling!r}")
        if self.part_pooling == "lse" and self.decoder_lse_r <= 0:
            raise ValueError("part_pooling 'lse' needs decoder_lse_r > 0 (its sharpness r)")
        if self.part_pooling == "mean" and self.decoder_lse_r != 0:
            raise ValueError("decoder_lse_r is the r of part_pooling 'lse' or 'score_map'; with 'mean' it must be 0 "
                             "(set part_pooling: lse for the log-sum-exp decoder head)")
        if self.response_merge not in RESPONSE_MERGES:
            raise ValueError(f"response_merge must be 'value' or 'density', got {self.response_merge!r}")
        if self.cam_lse_r <= 0 or self.decoder_lse_r < 0:
            raise ValueError("cam_lse_r must be > 0 and decoder_lse_r >= 0")
        if self.gcn_layers < 1:
            raise ValueError(f"gcn_layers must be >= 1, got {self.gcn_layers}")
        for a, b in self.skeleton:
            if not (0 <= a < self.num_keypoints and 0 <= b < self.num_keypoints):
                raise ValueError(f"skeleton edge {(a, b)} is out of range for {self.num_keypoints} keypoints")
