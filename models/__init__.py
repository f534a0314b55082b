"""The LOFR network (Location-Free Human Pose Estimation) and its switchable modules.

Self-contained: nothing here imports the harness (a test builds a network with `harness` absent).
"""
from models.backbone import CheckpointError
from models.build import build_criterion, build_model, param_groups
from models.config import LOFRConfig
from models.prototype_matrices import prototype_matrices

__all__ = ["CheckpointError", "LOFRConfig", "build_criterion", "build_model", "param_groups", "prototype_matrices"]
