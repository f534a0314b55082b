"""The matrix file and everything pure that is read from it: its checks (`checks`), one row resolved
into a trial config (`resolve`), the expansion into deduplicated trials (`expand`), `harness plan`'s
view (`plan_view`) and the cost estimates it shares with the runner (`rates`). No Ray, no torch."""
from harness.matrix.checks import MatrixError, load_matrix
from harness.matrix.expand import Plan, PlannedTrial, Resources, StudySpec, expand
from harness.matrix.resolve import missing_paths

__all__ = ["MatrixError", "Plan", "PlannedTrial", "Resources", "StudySpec", "expand", "load_matrix", "missing_paths"]
