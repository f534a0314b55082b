"""The LOFR network (Location-Free Human Pose Estimation) and its switchable modules."""
from models.build import build_criterion, build_model, param_groups
from models.config import LOFRConfig

__all__ = ["LOFRConfig", "build_criterion", "build_model", "param_groups"]
