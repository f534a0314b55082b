"""One trial: train a configuration in its supervision regime, evaluate it, write its artifacts.

The trial folder is the source of truth. A trial started again (by whatever process) returns at
once if its metrics.json says `completed`, and otherwise resumes from `checkpoint.pt` at the next
epoch. Every epoch is seeded from (seed, epoch), so an interrupted-then-resumed trial ends with the
same numbers as an uninterrupted one on CPU.

The parts, by what changes together:
- `setup`: the trial's datasets, loaders, network, criterion and optimiser (`Trial`), device and seeds;
- `loaders`: the DataLoaders (workers from the trial's CPUs, batches that do not depend on them,
  the time the loop waits for data);
- `process`: the process state a trial starts from (a reused Ray worker runs it as a fresh one);
- `checkpoint`: save / resume;
- `training`: one epoch of the training loop;
- `evaluation`: predictions on the validation set (flip test, decoding) and their metrics;
- `artifacts`: the files a trial writes beside metrics.json;
- `run`: the lifecycle (`run_trial`), which writes the `harness.record.MetricsRecord`;
- `config_file`: a trial config read from a file (`harness trial`).
"""
from harness.trial.config_file import load_trial_config
from harness.trial.run import is_completed, run_trial
from harness.trial.setup import Trial, resolve_dataset, twin_is_cached

__all__ = ["Trial", "is_completed", "load_trial_config", "resolve_dataset", "run_trial", "twin_is_cached"]
