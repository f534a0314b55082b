"""The LOFR network (Location-Free Human Pose Estimation) and its switchable modules."""
from models.config import LOFRConfig

__all__ = ["LOFRConfig"]
