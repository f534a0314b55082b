"""The Ray side of `harness run`: data preparation and Ray Tune scheduling (`run`), what a Ray Tune
trial runs (`trainables`), the order trials are handed over (`ordering`) and the live progress line
(`progress`). Only this package imports Ray at module level; a trial (`harness.trial`) never does."""
from harness.runner.run import RunOptions, RunSummary, prepare_data, run_matrix

__all__ = ["RunOptions", "RunSummary", "prepare_data", "run_matrix"]
