"""Shared fixtures of the benchmarks: figures recorded into `extra_info`, rates measured in this
run (for ratios against a baseline), one-core settings, the matrix's own configurations.

Every rate is `harness.cost.images_per_second(items per round, median round time)`: the median,
because other processes share this machine's cores and a round that lost its core to them says
little about the code. Single-threaded CPU work also reports its rate by CPU time (what one core
does, whoever else runs), and ratios against a baseline timed in alternation with the rounds.
With `--benchmark-disable` (the ordinary test command) each benchmark runs its code once, checks
what it produced, and records no figures.

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
        self.rates: dict[str, float] = {}  # items / median round
        self.best: dict[str, float] = {}  # items / fastest round
        self.cpu: dict[str, float] = {}  # items / median CPU seconds of a round
        self.lines: list[str] = []

    def record(self, benchmark, key: str, items: float, unit: str, *, seconds: list[float] | None = None,
               cpu_seconds: list[float] | None = None, baseline: str | None = None,
               baseline_seconds: list[float] | None = None, baseline_cpu_seconds: list[float] | None = None,
               target: tuple[str, str, float] | list[tuple[str, str, float]] | None = None,
               macs: tuple[float, float] | None = None,
               value: dict[str, Any] | None = None, **info: Any) -> float | None:
        """Put the rate, and its ratio to a baseline measured in this run, into `extra_info`.

        `unit` (e.g. img_per_s) is `items` over the median of pytest-benchmark's round times,
        or of `seconds` when the test timed the part that matters itself (one value per round);
        `<unit>_best_round` uses the fastest round. `cpu_seconds` (this process's CPU time per
        round, for single-threaded work) gives `<unit>_by_cpu_time`: what one core does while
        other processes share the cores, which slows some rounds' wall time and none's CPU time.

        The baseline's rates come from `baseline_seconds` / `baseline_cpu_seconds` when given
        (timed by the same test, interleaved with its rounds), else from the rates recorded under
        the key `baseline` earlier in this session; `ratio`, `ratio_best_round` and
        `ratio_by_cpu_time` compare them. `macs` = (GMACs per item, the baseline's) turns the
        ratios into `mac_throughput_ratio` (and its best-round / CPU-time forms): GMACs x img/s
        against the baseline's, the share of the baseline's arithmetic rate this work reaches.
        `value` adds figures computed by the test; `target` = (figure, op, threshold), e.g.
        ("ratio", ">=", 0.75), or a list of them, is checked against the figure each names
        (`target_met`: all of them). Returns the rate (None when benchmarks are disabled).
        """
        timed = not benchmark.disabled and benchmark.stats is not None
        if timed and seconds is None:
            seconds = list(benchmark.stats.stats.data)
        rate, best = _rates(items, seconds) if timed else (None, None)
        cpu = _rates(items, cpu_seconds)[0] if timed and cpu_seconds else None
        extra: dict[str, Any] = {unit: rate, f"{unit}_best_round": best, "items_per_round": items}
        if cpu_seconds is not None:
            extra[f"{unit}_by_cpu_time"] = cpu
        if rate is not None:
            self.rates[key], self.best[key] = rate, best
            if cpu is not None:
                self.cpu[key] = cpu
        extra.update(info)
        extra.update(value or {})
        if baseline is not None:
            if baseline_seconds is not None:
                base, base_best = _rates(items, baseline_seconds) if timed else (None, None)
            else:
                base, base_best = self.rates.get(baseline), self.best.get(baseline)
            if baseline_cpu_seconds is not None:
                base_cpu = _rates(items, baseline_cpu_seconds)[0] if timed else None
            else:
                base_cpu = self.cpu.get(baseline)
            extra.update(baseline=baseline, baseline_rate=base if timed else None,
                         ratio=_ratio(rate, base), ratio_best_round=_ratio(best, base_best))
            if cpu_seconds is not None:
                extra.update(baseline_rate_by_cpu_time=base_cpu if timed else None,
                             ratio_by_cpu_time=_ratio(cpu, base_cpu))
        if macs is not None and baseline is not None:
            work = macs[0] / macs[1]
            for suffix in ("", "_best_round", "_by_cpu_time"):
                if f"ratio{suffix}" in extra:
                    r = extra[f"ratio{suffix}"]
                    extra[f"mac_throughput_ratio{suffix}"] = None if r is None else r * work
            value = {"mac_throughput_ratio": extra["mac_throughput_ratio"], **(value or {})}
        if target is not None:
            targets = [Target(*t) for t in ([target] if isinstance(target, tuple) else target)]
            checks = [t.check(extra.get(t.name)) for t in targets]
            extra.update(target="; ".join(map(str, targets)),
                         target_met=None if None in checks else all(checks))
        benchmark.extra_info.update(extra)
        if rate is not None:
            self.lines.append(_summary_line(key, unit, extra, value or {}))
        return rate


def _rates(items: float, seconds: list[float]) -> tuple[float | None, float | None]:
    """(items / median round time, items / fastest round time), as `harness.cost` defines img/s."""
    if not seconds:
        return None, None
    return images_per_second(items, statistics.median(seconds)), images_per_second(items, min(seconds))


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _summary_line(key: str, unit: str, extra: dict[str, Any], value: dict[str, Any]) -> str:
    parts = [f"{key}: {extra[unit]:,.2f} {unit}"]
    if extra.get(f"{unit}_by_cpu_time") is not None:
        parts[0] += f" ({extra[f'{unit}_by_cpu_time']:,.2f} by CPU time)"
    if extra.get("baseline") is not None:
        ratio = extra.get("ratio")
        if ratio is None:
            parts.append(f"(baseline {extra['baseline']} not measured in this run)")
        else:
            also = [f"best rounds x{extra['ratio_best_round']:.3f}"]
            if extra.get("ratio_by_cpu_time") is not None:
                also.append(f"by CPU time x{extra['ratio_by_cpu_time']:.3f}")
            parts.append(f"x{ratio:.3f} of {extra['baseline']} ({', '.join(also)})")
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
