"""Speed of the harness itself: planning a 1,000-trial matrix, and the runner's overhead per trial.

Planning: `harness.matrix.expand` of a generated matrix (one study: encoder depth 1-5 x decoder
depth 1-5 x SPE x PDC = 100 configurations x 10 seeds, and a second study whose rows repeat some
of them, so deduplication is part of the work) -- validation, resolution, trial ids, dataset
path checks; what `harness plan` and `harness run` do before anything else.

Runner overhead: `harness.runner.run_matrix` on real smoke-scale trials (run_matrix.yaml's
`smoke` scale, the Table 5 baseline row, 3 seeds), one at a time on CPU. Every trial records its
own `started_at` / `finished_at` / `wall_s` (harness/trial/run.py: from entering `run_trial` to
just before writing metrics.json), so the time between one trial's end and the next one's start
is the harness's per-trial overhead: writing metrics.json, Ray Tune's bookkeeping and scheduling,
handing the reused Ray worker its next trial (`reuse_actors`; a fresh worker process with its
imports before), the payload -> TrialConfig. Targets: that gap <= 0.5 s and <= 10 % of a smoke
trial's wall time (`per_trial_overhead_s`, `per_trial_overhead_fraction`). Reported beside it:
the per-run fixed cost (matrix expansion, index, twins and mean-pose references, Ray start), the
time inside a trial that is neither training nor evaluation (datasets, model, cost counting,
checkpoints and artifacts), and whether the worker was reused (`trial_in_process`). This one
starts a Ray cluster and runs for ~40 s, so it is skipped when benchmarks are disabled;
tests/test_runner.py covers the runner's behaviour.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest
import yaml

from harness.matrix import load_matrix
from harness.runner import RunOptions, run_matrix

ROOT = Path(__file__).resolve().parents[2]
OVERHEAD_TRIALS = 3
TARGET_OVERHEAD_FRACTION = 0.10
TARGET_OVERHEAD_S = 0.5


def _thousand_trial_matrix() -> dict:
    return {
        "name": "plan1000",
        "datasets": {"coco": {"kind": "coco", "root": "data/coco", "train_ann": "annotations/train.json",
                              "val_ann": "annotations/val.json", "train_images": "train2017",
                              "val_images": "val2017"}},
        "backbones": {"resnet50": {"pretrained": None}},
        "defaults": {"dataset": "coco", "model": {"backbone": "resnet50", "input_size": [256, 192]},
                     "schedule": {"epochs": 210, "lr_steps": [170, 200]}},
        "seeds": list(range(10)),
        "studies": {
            "depth_grid": {"table": "table6", "grid": {
                "model.enc_layers": [1, 2, 3, 4, 5], "model.dec_layers": [1, 2, 3, 4, 5],
                "model.spe": [False, True], "model.pdc": [False, True]}},
            "repeats": {"table": "table5", "rows": [
                {"model": {"enc_layers": 2, "dec_layers": 2, "spe": True, "pdc": False}},
                {"model": {"enc_layers": 5, "dec_layers": 1, "spe": False, "pdc": True}}]},
        },
    }


def test_plan_1000_trials(benchmark, figures):
    from harness.matrix import expand

    benchmark.group = "harness"
    data = _thousand_trial_matrix()
    plan = benchmark.pedantic(lambda: expand(Path("plan1000.yaml"), "full", data=data),
                              rounds=5, warmup_rounds=1, iterations=1)

    assert len(plan.trials) == 1000
    assert len({t.id for t in plan.trials}) == 1000
    by_study = plan.study_trials()
    assert len(by_study["depth_grid"]) == 1000
    assert len(by_study["repeats"]) == 20 and set(by_study["repeats"]) <= set(by_study["depth_grid"])
    assert all(t.missing_data for t in plan.trials)  # data/coco is not there: every trial says so
    figures.record(benchmark, "harness/plan-1000", len(plan.trials), "trials_per_s", trials=len(plan.trials))


def _smoke_matrix(tmp_path: Path) -> Path:
    """run_matrix.yaml's smoke scale, reduced to the Table 5 baseline at OVERHEAD_TRIALS seeds."""
    full = load_matrix(ROOT / "run_matrix.yaml")
    smoke = {k: v for k, v in full["scales"]["smoke"].items() if k not in ("studies", "resources")}
    data = {
        "name": "overhead",
        "datasets": {"coco": full["datasets"]["coco"]},
        "backbones": full["backbones"],
        "defaults": full["defaults"],
        "seeds": list(range(OVERHEAD_TRIALS)),
        "resources": {"gpus_per_trial": 0, "cpus_per_trial": 1, "max_failures": 0, "max_concurrent": 1},
        "scales": {"smoke": smoke},
        "studies": {"table5": {"table": "table5", "rows": [full["studies"]["table5"]["rows"][0]]}},
    }
    path = tmp_path / "overhead.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_runner_overhead_per_trial(benchmark, figures, tmp_path):
    benchmark.group = "harness"
    if benchmark.disabled:
        pytest.skip("starts a Ray cluster and runs 3 smoke trials (~40 s): measured only with "
                    "--benchmark-enable; tests/test_runner.py covers the runner")
    import ray

    matrix = _smoke_matrix(tmp_path)
    results = tmp_path / "results"
    marks: dict[str, float] = {}

    def run():
        marks["start"] = time.time()
        summary = run_matrix(matrix, RunOptions(scale="smoke", results_root=results, num_cpus=2, device="cpu",
                                                quiet=True))
        marks["end"] = time.time()
        return summary

    try:
        summary = benchmark.pedantic(run, rounds=1, warmup_rounds=0, iterations=1)
    finally:
        ray.shutdown()

    assert summary.total == summary.completed == OVERHEAD_TRIALS and summary.failed == 0
    trials = [json.loads(p.read_text()) for p in (results / "overhead" / "smoke").glob("*/metrics.json")]
    assert len(trials) == OVERHEAD_TRIALS and all(t["status"] == "completed" for t in trials)
    trials.sort(key=lambda t: t["timings"]["started_at"])
    spans = [(t["timings"]["started_at"], t["timings"]["finished_at"]) for t in trials]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))  # one at a time
    wall = [t["timings"]["wall_s"] for t in trials]
    inside = [t["timings"]["wall_s"] - t["timings"]["train_s"] - t["timings"]["eval_s"] for t in trials]
    gaps = [b_start - a_end for (_, a_end), (b_start, _) in zip(spans, spans[1:])]
    per_trial = statistics.mean(gaps)
    smoke_wall = statistics.mean(wall)
    total = marks["end"] - marks["start"]
    figures.record(
        benchmark, "harness/runner-smoke-trials", OVERHEAD_TRIALS, "trials_per_s",
        target=[("per_trial_overhead_fraction", "<=", TARGET_OVERHEAD_FRACTION),
                ("per_trial_overhead_s", "<=", TARGET_OVERHEAD_S)],
        value={
            "per_trial_overhead_s": per_trial,
            "per_trial_overhead_fraction": per_trial / smoke_wall,
            "smoke_trial_wall_s": smoke_wall,
            "fixed_overhead_s": (spans[0][0] - marks["start"]) + (marks["end"] - spans[-1][1]),
            "amortised_overhead_fraction": (total - sum(wall)) / OVERHEAD_TRIALS / smoke_wall,
            "in_trial_setup_and_writing_s": statistics.mean(inside),
            "in_trial_setup_and_writing_fraction": statistics.mean(inside) / smoke_wall,
        },
        trials=OVERHEAD_TRIALS, run_wall_s=total, trial_wall_s=wall, gaps_s=gaps,
        trial_in_process=[t["worker"]["trial_in_process"] for t in trials])
