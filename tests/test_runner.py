"""The Ray Tune runner: kill -9 then re-run redoes nothing finished; an always-failing trial is
retried then recorded while the others finish; 0.5 logical GPU per trial runs 8 at once; a
2-worker data-parallel trial (gloo, CPU) completes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.runner import RunOptions, run_matrix

ROOT = Path(__file__).resolve().parents[1]

TINY_MODEL = {"backbone": "resnet18", "input_size": [64, 48], "d_model": 32, "nhead": 4,
              "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1}


def _matrix(tmp_path: Path, rows: list[dict], epochs: int = 1, name: str = "m", seeds=(0,),
            twin: int = 16) -> Path:
    data = {
        "name": name,
        "datasets": {"coco": {"kind": "coco"}, "mpii": {"kind": "mpii"}},
        "backbones": {"resnet18": {"pretrained": None}},
        "defaults": {"dataset": "coco", "model": TINY_MODEL, "device": "cpu",
                     "schedule": {"epochs": epochs, "batch_size": 8, "lr": 0.001, "lr_steps": [],
                                  "max_train_instances": 16, "max_val_instances": 8}},
        "seeds": list(seeds),
        "resources": {"gpus_per_trial": 0, "cpus_per_trial": 1, "max_failures": 1},
        "scales": {"smoke": {"datasets": "synthetic", "twin_images": {"default": twin},
                             "twin_val_images": {"default": 8}}},
        "studies": {"table5": {"table": "table5", "rows": rows}},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def ray_shutdown():
    yield
    import ray

    ray.shutdown()


def _metrics(results: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in results.glob("*/metrics.json")}


def test_kill9_then_rerun_redoes_nothing_finished(tmp_path):
    rows = [{"model": {"spe": s, "pdc": p}} for s in (False, True) for p in (False, True)]
    matrix = _matrix(tmp_path, rows, epochs=2)
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "harness.cli", "run", str(matrix), "--scale", "smoke",
           "--results", str(results), "--cpus-per-trial", "1", "--max-concurrent", "1"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            done = [k for k, m in _metrics(results / "m" / "smoke").items() if m.get("status") == "completed"]
            if done:
                break
            time.sleep(0.5)
        assert done, "no trial completed before the kill"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the runner and its Ray processes
        proc.wait()
    first = {k: (results / "m" / "smoke" / k / "metrics.json").stat().st_mtime_ns
             for k, m in _metrics(results / "m" / "smoke").items() if m.get("status") == "completed"}
    rerun = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    final = _metrics(results / "m" / "smoke")
    assert len(final) == 4 and all(m["status"] == "completed" for m in final.values())
    for k, mtime in first.items():  # nothing finished was redone
        assert (results / "m" / "smoke" / k / "metrics.json").stat().st_mtime_ns == mtime
    assert f"{len(first)} already completed" in rerun.stdout


def test_failing_trial_is_retried_then_recorded(tmp_path, ray_shutdown):
    bad = tmp_path / "not_a_checkpoint.pt"  # a trial that fails for a real reason: its pretrained file is broken
    bad.write_bytes(b"not a torch file")
    rows = [{"model": {"spe": False}}, {"model": {"spe": True}}, {"model": {"spe": True, "pretrained": str(bad)}}]
    matrix = _matrix(tmp_path, rows, name="f")
    results = tmp_path / "results"
    summary = run_matrix(matrix, RunOptions(scale="smoke", results_root=results, max_failures=2,
                                            num_cpus=2, quiet=True))
    metrics = _metrics(results / "f" / "smoke")
    failed = [m for m in metrics.values() if m["status"] == "failed"]
    completed = [m for m in metrics.values() if m["status"] == "completed"]
    assert summary.failed == 1 and len(failed) == 1 and len(completed) == 2
    assert failed[0]["error"].startswith("UserError: ") and "not_a_checkpoint.pt" in failed[0]["error"]
    assert failed[0]["attempts"] == 3  # the first try and max_failures=2 retries
    index = json.loads((results / "f" / "smoke" / "index.json").read_text())
    assert set(index["trials"]) == set(metrics)


def test_half_gpu_per_trial_packs_eight_trials_on_four_logical_gpus(tmp_path, ray_shutdown):
    rows = [{"model": {"spe": False}}]
    matrix = _matrix(tmp_path, rows, name="g", seeds=list(range(8)), twin=8, epochs=3)
    results = tmp_path / "results"
    t0 = time.time()
    summary = run_matrix(matrix, RunOptions(scale="smoke", results_root=results, num_gpus=4, num_cpus=8,
                                            gpus_per_trial=0.5, cpus_per_trial=1, device="cpu", quiet=True))
    makespan = time.time() - t0
    metrics = list(_metrics(results / "g" / "smoke").values())
    assert len(metrics) == 8 and all(m["status"] == "completed" for m in metrics)
    # Ray's placement: each trial reserved half a GPU of the 4 logical ones, so all 8 fit at once
    # (asserted on Ray's reservations, not on observed overlap: on a loaded machine a trial can
    # finish before the 8th starts, which once read 7 of 8).
    assert summary.cluster["GPU"] == 4
    assert set(summary.reserved) == set(_metrics(results / "g" / "smoke"))  # keyed by trial id, all 8
    assert all(r == {"CPU": 1.0, "GPU": 0.5} for r in summary.reserved.values()), summary.reserved
    assert sum(r["GPU"] for r in summary.reserved.values()) <= summary.cluster["GPU"]
    # and they did run side by side: more at once than there are whole GPUs
    assert 4 < summary.peak_running <= 8
    spans = [(m["timings"]["started_at"], m["timings"]["finished_at"]) for m in metrics]
    busy = sum(e - s for s, e in spans)
    print(f"packing: makespan {makespan:.1f}s, sum of trial time / 8 slots {busy / 8:.1f}s")


def test_whole_gpus_never_run_more_trials_than_gpus(tmp_path, ray_shutdown):
    matrix = _matrix(tmp_path, [{"model": {"spe": False}}], name="w", seeds=list(range(3)), twin=8)
    summary = run_matrix(matrix, RunOptions(scale="smoke", results_root=tmp_path / "results", num_gpus=2,
                                            num_cpus=8, gpus_per_trial=1, cpus_per_trial=1, device="cpu",
                                            quiet=True))
    assert summary.completed == 3 and summary.peak_running <= 2
    assert len(summary.reserved) == 3 and all(r["GPU"] == 1.0 for r in summary.reserved.values())


def test_two_worker_data_parallel_trial_on_cpu(tmp_path, ray_shutdown):
    matrix = _matrix(tmp_path, [{"model": {"spe": True}}], name="d")
    results = tmp_path / "results"
    run_matrix(matrix, RunOptions(scale="smoke", results_root=results, num_cpus=2, cpus_per_trial=1,
                                  ddp_workers=2, device="cpu", quiet=True))
    (m,) = _metrics(results / "d" / "smoke").values()
    assert m["status"] == "completed" and m["world_size"] == 2
    # each rank trained on its half of the 16 instances: rank 0 counted 8 a epoch
    assert m["data"]["train_instances"] == 16
    assert (results / "d" / "smoke" / next(iter(_metrics(results / "d" / "smoke"))) / "predictions.json").is_file()


def test_two_worker_data_parallel_sup_only_and_semi_rows_train_several_steps(tmp_path, ray_shutdown):
    """Sup-only leaves the classification heads without gradient; semi batches differ in their
    terms. Both train data-parallel over 2 gloo workers for 2 steps an epoch, 2 epochs."""
    base = {"spe": False, "multi_scale": False, "reppg": False, "pdc": False}
    rows = [{"model": {**base, "cls_losses": False}, "supervision": {"regime": "sup_only"}},
            {"supervision": {"regime": "semi", "fraction": 0.5}}]
    matrix = _matrix(tmp_path, rows, name="p", epochs=2)
    data = yaml.safe_load(matrix.read_text())
    data["defaults"]["schedule"]["batch_size"] = 4  # 16 instances / 2 workers / 4 = 2 steps an epoch
    matrix.write_text(yaml.safe_dump(data))
    summary = run_matrix(matrix, RunOptions(scale="smoke", results_root=tmp_path / "results", num_cpus=2,
                                            cpus_per_trial=1, ddp_workers=2, max_failures=0, device="cpu",
                                            quiet=True))
    metrics = _metrics(summary.results_dir)
    assert summary.failed == 0 and len(metrics) == 2
    for m in metrics.values():
        assert m["status"] == "completed" and m["world_size"] == 2
        assert [r["epoch"] for r in m["curve"]] == [1, 2]
        assert all(np.isfinite(r["total"]) for r in m["curve"])
        assert m["cost"]["train_img_per_s"] > 0
    regimes = {m["config"]["supervision"]["regime"]: m for m in metrics.values()}
    assert set(regimes["sup_only"]["curve"][0]["losses"]) == {"mse"}
    assert {"cls_cnn", "mse"} <= set(regimes["semi"]["curve"][0]["losses"])
    

FRESH_PROCESS = """
import json, sys
from pathlib import Path
from harness.config import TrialConfig
from harness.trial import run_trial
from harness.trial.process import enter_worker
p = json.loads(sys.argv[1])
enter_worker(p["resources"], p["threads"])  # what the runner's trainable does, in a new process
run_trial(TrialConfig.from_dict(p["config"]), Path(p["out"]), twin_cache=Path(p["twin_cache"]))
"""


def test_two_trials_in_one_reused_worker_give_the_numbers_of_fresh_processes(tmp_path, ray_shutdown):
    rows = [{"model": {"spe": False, "pdc": False}}, {"model": {"spe": True, "pdc": True}}]
    matrix = _matrix(tmp_path, rows, name="r", epochs=2, seeds=(0, 1))
    results = tmp_path / "results"
    run_matrix(matrix, RunOptions(scale="smoke", results_root=results, num_cpus=1, cpus_per_trial=1,
                                  max_concurrent=1, device="cpu", quiet=True))
    reused = _metrics(results / "r" / "smoke")
    assert len(reused) == 4 and all(m["status"] == "completed" for m in reused.values())
    # Ray Tune ran all four, one after the other, in one worker process
    assert sorted(m["worker"]["trial_in_process"] for m in reused.values()) == [1, 2, 3, 4]
    assert len({m["worker"]["pid"] for m in reused.values()}) == 1
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for tid, m in reused.items():
        payload = {"config": m["config"], "out": str(tmp_path / "fresh" / tid), "threads": 1,
                   "twin_cache": str(results / ".twins"), "resources": {"cpus": 1.0, "gpus": 0.0, "ranks": 1}}
        done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, json.dumps(payload)], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        fresh = json.loads((tmp_path / "fresh" / tid / "metrics.json").read_text())
        assert fresh["worker"]["trial_in_process"] == 1
        assert fresh["metrics"] == m["metrics"] and fresh["readouts"] == m["readouts"], tid
        assert [r["losses"] for r in fresh["curve"]] == [r["losses"] for r in m["curve"]], tid
        assert (tmp_path / "fresh" / tid / "predictions.json").read_bytes() == \
            (results / "r" / "smoke" / tid / "predictions.json").read_bytes()
