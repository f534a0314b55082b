"""Live progress of `harness run` on the terminal: trials done / running / pending / failed,
the running trials' epoch and metric, elapsed and estimated time. One line per event, so that
it reads the same in a terminal and in a CI log.

The ETA weighs each trial by its own training work (`harness.matrix.rates.training_work`, the estimate
that orders the trials longest first): the finished trials give the rate (work per second of one
slot), and the work still to do -- the pending trials', and the running ones' less the epochs they
have reported -- is shared among the slots in use. Without weights every trial counts as one.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from harness.data.specs import SPECS
from harness.matrix import Plan


# What an epoch's line shows: each dataset's primary and location metric (`harness/data/specs/`).
SHOWN_METRICS = tuple(dict.fromkeys(m for spec in SPECS.values() for m in (spec.primary_metric, spec.location_metric)))


def _error_line(trial) -> str:
    """The failed trial's first error line, from the metrics.json that the trial wrote."""
    cfg = trial.config.get("trial") or trial.config.get("train_loop_config", {}).get("trial", {})
    try:
        return json.loads((Path(cfg["out"]) / "metrics.json").read_text())["error"]
    except (KeyError, OSError, ValueError, TypeError):
        return "error (see Ray's log)"


class ProgressBoard:
    def __init__(self, plan: Plan, results_dir, quiet: bool = False, work: dict[str, float] | None = None):
        self.total = len(plan.trials)
        self.work = {t.id: (work or {}).get(t.id, 1.0) for t in plan.trials}
        self.todo = set(self.work)  # trials not finished in this run (running or pending)
        self.progress: dict[str, float] = {}  # running trial -> share of its epochs done
        self.finished_work = 0.0
        self.t0 = time.perf_counter()
        self.quiet = quiet
        self.epochs = {t.id: t.config.schedule.epochs for t in plan.trials}
        self.done = 0
        self.failed = 0
        self.running: dict[str, str] = {}
        self.finished_s: list[float] = []
        self.started: dict[str, float] = {}
        self.pending = self.total
        self.peak_running = 0  # most trials Ray Tune had running at once (packing check)
        # What Ray Tune reserved for each trial it started (its placement group's resources, e.g.
        # {"CPU": 1.0, "GPU": 0.5}): Ray's own account of the packing, whatever the machine's load.
        self.reserved: dict[str, dict[str, float]] = {}

    def say(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{self._clock(time.perf_counter() - self.t0)}] {msg}", file=sys.stdout, flush=True)

    @staticmethod
    def _clock(s: float) -> str:
        s = int(s)
        return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"

    def _eta(self) -> str:
        if not self.finished_s or self.finished_work <= 0:
            return "?"
        rate = self.finished_work / sum(self.finished_s)  # work per second of one slot
        left = sum(self.work[t] * (1.0 - self.progress.get(t, 0.0)) for t in self.todo)
        return self._clock(left / rate / max(1, len(self.running)))

    def skip(self, ids: set[str]) -> None:
        """Trials already completed before this run: no work left, counted as done, not pending."""
        new = ids & self.todo
        self.todo -= new
        self.done += len(new)
        self.pending = max(0, self.pending - len(new))

    def status(self, extra: str = "") -> None:
        self.say(f"done {self.done} | running {len(self.running)} | pending {self.pending} | failed {self.failed}"
                 f" | eta {self._eta()}" + (f" | {extra}" if extra else ""))

    # -- events (called from the Tune callback) ---------------------------------------------
    def started_trial(self, tid: str, reserved: dict[str, float] | None = None) -> None:
        if reserved is not None:
            self.reserved[tid] = dict(reserved)
        self.started[tid] = time.perf_counter()
        self.running[tid] = "starting"
        self.peak_running = max(self.peak_running, len(self.running))
        self.pending = max(0, self.pending - 1)
        self.status(f"{tid} started")

    def result(self, tid: str, res: dict[str, Any]) -> None:
        epoch = res.get("epoch")
        if isinstance(epoch, int) and self.epochs.get(tid):
            self.progress[tid] = min(1.0, epoch / self.epochs[tid])
        metric = {k: v for k, v in res.items() if k in SHOWN_METRICS and v is not None}
        text = f"epoch {epoch}/{self.epochs.get(tid, '?')} loss {res.get('loss', float('nan')):.4f}"
        text += "".join(f" {k} {v:.3f}" for k, v in metric.items())
        self.running[tid] = text
        self.status(f"{tid} {text}")

    def completed(self, tid: str, ok: bool, error: str | None = None) -> None:
        self.running.pop(tid, None)
        self.progress.pop(tid, None)
        self.todo.discard(tid)
        if tid in self.started:
            self.finished_s.append(time.perf_counter() - self.started.pop(tid))
            self.finished_work += self.work.get(tid, 1.0)
        if ok:
            self.done += 1
            self.status(f"{tid} completed")
        else:
            self.failed += 1
            self.status(f"{tid} FAILED: {(error or '').splitlines()[0] if error else ''}")

    def finish(self, completed: int, failed: int) -> None:
        self.say(f"finished: {completed}/{self.total} completed, {failed} failed or missing")

    def tune_callback(self):
        board = self

        class _Board(Callback):
            @staticmethod
            def _tid(trial) -> str:
                cfg = trial.config.get("trial") or trial.config.get("train_loop_config", {}).get("trial", {})
                return cfg.get("id", trial.trial_id)

            def on_trial_start(self, iteration, trials, trial, **info):
                board.started_trial(self._tid(trial), trial.placement_group_factory.required_resources)

            def on_trial_result(self, iteration, trials, trial, result, **info):
                board.result(self._tid(trial), result)

            def on_trial_complete(self, iteration, trials, trial, **info):
                board.completed(self._tid(trial), True)

            def on_trial_error(self, iteration, trials, trial, **info):
                board.completed(self._tid(trial), False, _error_line(trial))

            def on_trial_recover(self, iteration, trials, trial, **info):
                board.say(f"{self._tid(trial)} failed, retrying")

        return _Board()
