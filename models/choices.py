"""The values a model field may take where the paper admits several readings, in one light module.

`LOFRConfig` validates against them and the modules that implement them check them; both import
them from here, so that reading the config needs no torch. Which of them is the paper's literal
reading, with the quote, is declared in `harness/paper/readings.py`.
"""
from __future__ import annotations

VECTOR_WEIGHTS = ("x_prime", "cam", "cam_normalised", "cam_softmax")  # Eq. 2 (models/cam.py)
PART_POOLINGS = ("mean", "lse", "score_map")  # RGP-De's pooling (models/decoder_head.py)
SPE_FUSIONS = ("product", "embed", "outer")  # Eq. 3 (models/spe.py)
# SPE in place of the learned position embedding (the paper: "rather than adopt the random initialized
# position embedding") or, beyond the paper, beside it in every attention or in the encoder's alone
# (models/lofr.py)
SPE_POSITIONS = ("replace", "beside", "encoder")
RESPONSE_MERGES = ("value", "density")  # MS: responses onto one grid (models/response_merge.py)
PDC_TARGETS = ("part_features", "response_maps")  # what Eq. 11 compares (models/criterion.py)
CAM_POOLINGS = ("gap", "lse")  # the CNN branch's pooling (models/cam.py)
# beyond the paper: whether RePPG's gradient reaches the CNN branch through Eq. 2 (models/cam.py)
VECTOR_GRADIENTS = ("through", "stopped")
# beyond the paper: whether the transformer's losses reach the backbone through its memory (models/lofr.py)
MEMORY_GRADIENTS = ("through", "stopped")
BACKBONE_STRIDES = (4, 8, 16)  # the feature maps a backbone returns (models/backbone.py)
CAM_STRIDES = BACKBONE_STRIDES  # the CNN branch may read any of them (harness/paper/readings.py, "cam_stride")
# beyond the paper: a term that keeps a left/right pair's class maps apart (models/criterion.py)
MIRROR_TERMS = ("none", "cams")
RESPONSE_PRIORS = ("none", "cam")  # beyond the paper: a prior on the response maps (models/response_prior.py)
TRANSFORMER_SCOPES = ("all_but_cnn", "layers")  # which parameters get the x0.1 lr (models/build.py)
