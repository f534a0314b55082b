"""One GPU check: its tasks, in order of what matters most, under the budget; the report they fill.

Order (a task that does not fit in what is left of the budget is skipped, and says so):
1. the eager training step of the baseline and of the full LOFR with the scale's backbone
   (ResNet-50 on a GPU), each at the batch size its search picks;
2. the profile of one full-LOFR step at that batch;
3. feeding at that batch: the COCO samples, then the synthetic twin;
4. the short supervised training run with the ladder's read-outs;
5. the compiled step of the full LOFR, then of the baseline, at their eager batches;
6. the other backbones (HRNet-W32): eager, then compiled.
Compilation comes late: it is the slowest task and the likeliest to hang, and the watchdog that
cuts a hung task would take every later task with it.

The report (`REPORT_NAME` in the output folder) holds: `mode`, `finished`, `ceiling_hit`,
`interrupted_task`, `wall_s`, `environment`, `settings`, `step_throughput` (rows, `step`),
`profile` (`hotspots`), `feeding` (rows, `feeding`), `training_runs` (`short_run`, location-free then
supervised) and `tasks`
(each task's status, seconds, and its reason or error). A section whose task did not run is
empty (None or no rows) and its task says why.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from harness.atomic import write_json
from harness.config import DatasetConfig
from harness.gpu_check.budget import FAILED, Budget
from harness.gpu_check.environment import describe
from harness.gpu_check.feeding import feeding, samples_dataset, twin_dataset
from harness.gpu_check.hotspots import top_operators
from harness.gpu_check.settings import VARIANTS, Settings, table5_rows, with_backbone
from harness.gpu_check.short_run import short_run
from harness.gpu_check.step import batch_search, compiled, free_memory
from harness.gpu_check.summary import summary
from harness.trial.process import begin_trial

REPORT_NAME = "gpu_check.json"
FULL = "full_lofr"


class Check:
    def __init__(self, s: Settings, device: torch.device, out: Path, started: float | None = None):
        """`started`: the `time.monotonic()` of the process's start (the ceiling counts from it)."""
        self.s, self.device, self.out = s, device, Path(out)
        if s.torch_threads is not None:
            torch.set_num_threads(s.torch_threads)
        self.out.mkdir(parents=True, exist_ok=True)
        self.budget = Budget(s.max_seconds, start=started)
        self.twin_cache = self.out / "twins"
        self.rows = table5_rows(s.scale)
        self.eager: dict[tuple[str, str], dict[str, Any]] = {}
        self.report: dict[str, Any] = {
            "check": "gpu_check", "mode": s.mode, "finished": False, "ceiling_hit": False, "interrupted_task": None,
            "wall_s": None, "started_at": time.time(), "json_path": str(self.out / REPORT_NAME),
            "environment": describe(device), "settings": asdict(s), "step_throughput": [], "profile": None,
            "feeding": [], "training_runs": [], "tasks": self.budget.log}

    def run(self) -> None:
        main, others = self.s.backbones[0], self.s.backbones[1:]
        for network in VARIANTS:
            self._eager(main, network)
        self._task("profile", "profile", lambda: self._set("profile", top_operators(
            self._cfg(main, FULL), FULL, self.device, self.s, self._batch(main))))
        self._task("feeding/samples", "feeding", lambda: self._feeding(main, "samples", samples_dataset(
            self.out / "samples", self.s.feed_steps * self._batch(main))))
        self._task("feeding/twin", "feeding", lambda: self._feeding(main, "twin", twin_dataset(self.s)))
        for regime in ("location_free", "full"):  # image-level labels only, then heatmaps too
            self._task(f"training_run/{regime}", "short_run", lambda regime=regime: self.report["training_runs"].append(
                short_run(self._cfg(main, FULL), twin_dataset(self.s), self.device, self.s, self.out / "trial",
                          self.twin_cache, regime)))
        for network in (FULL, "baseline"):
            self._compiled(main, network)
        for backbone in others:
            for network in VARIANTS:
                self._eager(backbone, network)
            for network in (FULL, "baseline"):
                self._compiled(backbone, network)
        self.report["finished"] = True

    def _feeding(self, backbone: str, label: str, dataset: DatasetConfig) -> None:
        self.report["feeding"].extend(feeding(self._cfg(backbone, FULL), dataset, label, self.device, self.s,
                                              self._batch(backbone), self.out / "trial", self.twin_cache))

    def _cfg(self, backbone: str, network: str):
        return with_backbone(self.rows[network], backbone)

    def _batch(self, backbone: str) -> int:
        """The full LOFR's batch: the one its eager search picked, else the matrix row's."""
        row = self.eager.get((backbone, FULL))
        return row["batch"] if row else self.rows[FULL].schedule.batch_size

    def _set(self, key: str, value: Any) -> None:
        self.report[key] = value

    def _task(self, name: str, need: str, fn) -> Any:
        def run() -> Any:
            begin_trial(self.device, self.rows[FULL].seed)  # each task from a trial's process state
            try:
                return fn()
            finally:
                free_memory(self.device)

        return self.budget.run(name, self.s.need_s[need], run)

    def _eager(self, backbone: str, network: str) -> None:
        row = self._task(f"step/{backbone}/{network}/eager", "step", lambda: batch_search(
            self._cfg(backbone, network), network, self.device, self.s, self.budget.left))
        if row is not None:
            self.eager[(backbone, network)] = row
            self.report["step_throughput"].append(row)

    def _compiled(self, backbone: str, network: str) -> None:
        name = f"step/{backbone}/{network}/compiled"
        eager = self.eager.get((backbone, network))
        if eager is None:
            self.budget.skip(name, "its eager row did not run (no batch size, no GMACs)")
            return
        row = self._task(name, "compile", lambda: compiled(
            self._cfg(backbone, network), network, self.device, self.s, eager["batch"], eager["gmacs"]))
        if row is not None:
            self.report["step_throughput"].append(row)

    def failed(self) -> bool:
        return FAILED in self.budget.statuses()

    def write(self) -> str:
        """Write the report as it stands; return the one-screen summary."""
        self.report["wall_s"] = self.budget.elapsed()
        write_json(self.out / REPORT_NAME, self.report)
        return summary(self.report)

    def cut(self) -> str:
        """The ceiling was reached during `budget.current`: write what is there."""
        self.report.update(ceiling_hit=True, interrupted_task=self.budget.current)
        return self.write()
