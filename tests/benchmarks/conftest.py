"""Shared fixtures of the benchmarks: figures recorded into `extra_info`, rates measured in this
run (for ratios against a baseline), one-core settings, the matrix's own configurations.

Every rate is `harness.cost.images_per_second(items per round, median round time)`: the median,
because other processes share this machine's cores and a round that lost its core to them says
nothing about the code. With `--benchmark-disable` (the ordinary test command) each benchmark
runs its code once, checks what it produced, and records no figures.

A summary of the figures (rate, ratio to the baseline of this run, target) is printed at the end
of the session and lands, per benchmark, in the JSON of `--benchmark-json` / `--benchmark-save`.
"""
from __future__ import annotations

import operator
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import cv2
import pytest
import torch

from harness.cost import images_per_second
from harness.matrix import Plan, expand

ROOT = Path(__file__).resolve().parents[2]
_OPS = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Target:
    """What the issue asks of a figure: `value op threshold` (e.g. ratio >= 0.75)."""

    name: str  # which figure: "ratio", "img_per_s", "fraction", ...
    op: str
    threshold: float

    def check(self, value: float | None) -> bool | None:
        return None if value is None else bool(_OPS[self.op](value, self.threshold))

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.threshold:g}"


class Figures:
    """Rates measured in this session, by key, and the lines of the end-of-session summary."""

    def __init__(self) -> None:
        self.rates: dict[str, float] = {}
        self.best: dict[str, float] = {}  # the same from the fastest round
        self.lines: list[str] = []

    def record(self, benchmark, key: str, items: float, unit: str, *, seconds: list[float] | None = None,
               baseline: str | None = None, baseline_seconds: list[float] | None = None,
               target: tuple[str, str, float] | None = None,
               value: dict[str, Any] | None = None, **info: Any) -> float | None:
        """Put the rate, and its ratio to a baseline measured in this run, into `extra_info`.

        The rate is `items` over the median of pytest-benchmark's round times, or of `seconds`
        when the test timed the part that matters itself (one value per round). The baseline is
        `items` over the median of `baseline_seconds` when given (timed by the same test), else
        the rate recorded under the key `baseline` earlier in this session. `ratio_best_round`
        compares the fastest rounds (less sensitive to other processes taking the cores, which
        slows some rounds down and none up). `value` adds figures computed by the test;
        `target` = (figure, op, threshold), e.g. ("ratio", ">=", 0.75), is checked against the
        figure it names ("ratio", `unit`, or a key of `value`). Returns the rate (None when
        benchmarks are disabled: nothing was timed).
        """
        timed = not benchmark.disabled and benchmark.stats is not None
        if timed and seconds is None:
            seconds = list(benchmark.stats.stats.data)
        rate, best = _rates(items, seconds) if timed else (None, None)
        extra: dict[str, Any] = {unit: rate, f"{unit}_best_round": best, "items_per_round": items}
        if rate is not None:
            self.rates[key], self.best[key] = rate, best
        extra.update(info)
        extra.update(value or {})
        if baseline is not None:
            if baseline_seconds is not None:
                base, base_best = _rates(items, baseline_seconds) if timed else (None, None)
            else:
                base, base_best = self.rates.get(baseline), self.best.get(baseline)
            extra.update(baseline=baseline, baseline_rate=base if timed else None,
                         ratio=(rate / base) if (rate is not None and base) else None,
                         ratio_best_round=(best / base_best) if (best is not None and base_best) else None)
        if target is not None:
            t = Target(*target)
            extra.update(target=str(t), target_met=t.check(extra.get(t.name)))
        benchmark.extra_info.update(extra)
        if rate is not None:
            self.lines.append(_summary_line(key, unit, extra, value or {}))
        return rate


def _rates(items: float, seconds: list[float]) -> tuple[float | None, float | None]:
    """(items / median round time, items / fastest round time), as `harness.cost` defines img/s."""
    return images_per_second(items, statistics.median(seconds)), images_per_second(items, min(seconds))


def _summary_line(key: str, unit: str, extra: dict[str, Any], value: dict[str, Any]) -> str:
    parts = [f"{key}: {extra[unit]:,.2f} {unit}"]
    if extra.get("baseline") is not None:
        ratio = extra.get("ratio")
        best = extra.get("ratio_best_round")
        parts.append(f"x{ratio:.3f} of {extra['baseline']} (best rounds x{best:.3f})" if ratio is not None
                     else f"(baseline {extra['baseline']} not measured in this run)")
    for name, v in value.items():
        if isinstance(v, float):
            parts.append(f"{name} {v:.2%}" if name.endswith("fraction") else f"{name} {v:,.2f}")
    if "target" in extra:
        met = extra["target_met"]
        parts.append(f"target {extra['target']}: {'met' if met else 'NOT met' if met is not None else 'n/a'}")
    return ", ".join(parts)


_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return _FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if _FIGURES.lines:
        terminalreporter.write_sep("-", "benchmark figures (median round; ratios within this run)")
        terminalreporter.write_line(", ".join(f"{k}: {v}" for k, v in machine().items()))
        for line in _FIGURES.lines:
            terminalreporter.write_line(line)


@pytest.fixture
def one_core() -> Iterator[None]:
    """One torch thread and one OpenCV thread, as a CPU trial runs (cpus_per_trial: 1)."""
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)


@pytest.fixture(scope="session")
def matrix_plans() -> dict[str, Plan]:
    """run_matrix.yaml expanded at the scales the model benchmarks take their configurations from."""
    return {scale: expand(ROOT / "run_matrix.yaml", scale) for scale in ("synthetic", "full")}


def machine() -> dict[str, Any]:
    """The facts a figure needs beside it: CPU model, cores, torch version (and the GPU, if any)."""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    facts: dict[str, Any] = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__}
    if torch.cuda.is_available():
        facts["gpu"] = torch.cuda.get_device_name(0)
    return facts
