"""scripts/gpu_check.py, the GPU check, kept from rotting: its `--cpu-dry` run (the same code as on
a GPU, on CPU at tiny sizes) in a subprocess where ray, pycocotools and xtcocotools cannot be
imported, as on a bare GPU machine; the JSON's keys, figures and their consistency; and the one
line and exit code 2 without CUDA and without --cpu-dry. Nothing here is timed.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from harness.gpu_check.feeding import _loader_pass

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.py"
BLOCKED = ("ray", "pycocotools", "xtcocotools")
# The prelude of the subprocess: a None in sys.modules makes `import ray` (and `import ray.tune`)
# raise ImportError, wherever it is imported -- the loader's forked workers inherit it.
PRELUDE = f"""import runpy, sys
for name in {BLOCKED!r}:
    sys.modules[name] = None
sys.argv = [{str(SCRIPT)!r}] + sys.argv[1:]
runpy.run_path({str(SCRIPT)!r}, run_name="__main__")
"""
TOP_KEYS = {"check", "mode", "finished", "ceiling_hit", "interrupted_task", "wall_s", "started_at", "json_path",
            "environment", "settings", "step_throughput", "profile", "feeding", "training_runs", "tasks"}
STEP_KEYS = {"backbone", "network", "modules", "input_size", "d_model", "compiled", "compile_backend", "compile_s",
             "batch", "img_per_s", "gmacs", "params", "tflops", "peak_share", "peak_mem_mb", "loss_finite",
             "steps_timed"}
FEED_KEYS = {"dataset", "train_instances", "workers", "batch", "steps", "loader_img_per_s", "first_batch_s",
             "loader_images", "pinned", "data_wait_fraction", "model_step_img_per_s", "loop_img_per_s", "loss_finite"}
TASKS = ["step/resnet18/baseline/eager", "step/resnet18/full_lofr/eager", "profile", "feeding/samples",
         "feeding/twin", "training_run/location_free", "training_run/full", "step/resnet18/full_lofr/compiled", "step/resnet18/baseline/compiled"]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path_factory.mktemp("gpu_check")
    # A generous ceiling: the check's own budget must not skip tasks on a loaded test machine.
    proc = subprocess.run([sys.executable, "-c", PRELUDE, "--out", str(out), "--cpu-dry", "--max-seconds", "1200"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1500)
    report = json.loads((out / "gpu_check.json").read_text()) if (out / "gpu_check.json").is_file() else {}
    return proc, report


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_dry_run_completes_without_ray_or_coco_tools(dry_run):
    proc, report = dry_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert set(report) == TOP_KEYS
    assert report["mode"] == "cpu-dry" and report["finished"] and not report["ceiling_hit"]
    assert [t["name"] for t in report["tasks"]] == TASKS
    assert all(t["status"] == "ok" and t["seconds"] > 0 and t["cpu_s"] > 0 for t in report["tasks"]), report["tasks"]
    assert report["environment"]["code_root"] == str(ROOT)  # this checkout's code, no installed copy
    assert report["settings"]["compile_backend"] == "aot_eager"
    assert "GPU check (cpu-dry)" in proc.stdout and "report:" in proc.stdout


def test_step_rows_are_positive_and_consistent(dry_run):
    _, report = dry_run
    rows = report["step_throughput"]
    peak = report["settings"]["peak_tflops"]
    assert [(r["network"], r["compiled"]) for r in rows] == [
        ("baseline", False), ("full_lofr", False), ("full_lofr", True), ("baseline", True)]
    eager = {r["network"]: r for r in rows if not r["compiled"]}
    for r in rows:
        assert set(r) - {"batch_search", "graphs", "graph_breaks"} == STEP_KEYS
        for key in ("img_per_s", "gmacs", "params", "tflops", "peak_share", "peak_mem_mb", "batch"):
            assert _positive(r[key]), (key, r)
        # TFLOP/s = GMACs x 2 FLOPs x 3 passes x img/s / 1000; the share of the given peak
        assert r["tflops"] == pytest.approx(r["gmacs"] * 2 * 3 * r["img_per_s"] / 1000, rel=1e-9)
        assert r["peak_share"] == pytest.approx(r["tflops"] / peak, rel=1e-9)
        assert r["loss_finite"] and r["input_size"] == [64, 48] and r["backbone"] == "resnet18"
        assert all(r["modules"].values()) == (r["network"] == "full_lofr")
        if r["compiled"]:
            assert r["compile_backend"] == "aot_eager" and _positive(r["compile_s"])
            assert r["batch"] == eager[r["network"]]["batch"] and r["gmacs"] == eager[r["network"]]["gmacs"]
            assert r["graphs"] >= 1
        else:
            assert r["compile_backend"] is None and r["compile_s"] is None
            tried = [t["batch"] for t in r["batch_search"]]
            assert r["batch"] in tried and tried == sorted(tried)
            assert all(_positive(t["img_per_s"]) for t in r["batch_search"])
            assert r["img_per_s"] == max(t["img_per_s"] for t in r["batch_search"])
    assert eager["full_lofr"]["gmacs"] > eager["baseline"]["gmacs"]


def test_profile_names_the_top_operators(dry_run):
    _, report = dry_run
    prof = report["profile"]
    assert prof["network"] == "full_lofr" and prof["top_kernels"] is None  # no kernels on CPU
    assert prof["batch"] == report["step_throughput"][1]["batch"] and prof["loss_finite"]
    top = prof["top_ops"]
    assert 1 <= len(top) <= report["settings"]["profile_top"]
    assert all(e["name"] and e["calls"] >= 1 and _positive(e["self_ms"]) and 0 < e["share"] <= 1 for e in top)
    assert sum(e["share"] for e in top) <= 1 + 1e-9
    assert [e["self_ms"] for e in top] == sorted((e["self_ms"] for e in top), reverse=True)


def test_feeding_rows(dry_run):
    _, report = dry_run
    s = report["settings"]
    rows = report["feeding"]
    batch = report["step_throughput"][1]["batch"]  # the full LOFR's eager batch
    expected = [(d, w) for d in ("samples", "twin") for w in s["feed_workers"]]
    assert [(r["dataset"], r["workers"]) for r in rows] == expected
    for r in rows:
        assert set(r) == FEED_KEYS
        assert r["batch"] == batch and r["steps"] >= 1 and r["loss_finite"] and not r["pinned"]  # pinned on CUDA only
        for key in ("loader_img_per_s", "model_step_img_per_s", "loop_img_per_s", "first_batch_s"):
            assert _positive(r[key]), (key, r)
        assert 0 <= r["data_wait_fraction"] < 1
        assert r["loop_img_per_s"] <= r["model_step_img_per_s"]  # the loop's time includes the waits
        # the pass took at least the first batch's time: its rate cannot exceed all images over that
        assert r["loader_img_per_s"] * r["first_batch_s"] <= r["loader_images"] * (1 + 1e-9)


class _PrefetchedLoader:
    """As a loader with as many workers as batches: the first batch takes a while, the others
    were made beside it and come at once."""

    def batches(self, epoch):
        time.sleep(0.05)
        for _ in range(8):
            yield {"image": torch.zeros(4, 3, 8, 6)}


def test_loader_rate_with_every_batch_prefetched_is_bounded_by_the_whole_pass():
    # On the H200 (8 workers, 8 batches) the rate of the batches after the first read 5,093,195
    # img/s: the time since the first batch was ~0. The whole pass's rate cannot exceed 32 images
    # over the first batch's 0.05 s.
    row, last = _loader_pass(_PrefetchedLoader(), 1)
    assert row["loader_images"] == 32 and last["image"].shape[0] == 4
    assert 0 < row["loader_img_per_s"] * row["first_batch_s"] <= row["loader_images"] * (1 + 1e-9)
    assert row["loader_img_per_s"] <= 32 / 0.05


def test_training_runs_losses_and_readouts(dry_run):
    _, report = dry_run
    s, runs = report["settings"], report["training_runs"]
    assert [run["regime"] for run in runs] == ["location_free", "full"]
    for run in runs:
        assert run["network"] == "full_lofr" and run["batch"] == s["run_batch"]
        assert [e["epoch"] for e in run["losses"]] == list(range(1, s["run_epochs"] + 1))
        assert run["finite"] and all(math.isfinite(e["total"]) for e in run["losses"])
        assert all(math.isfinite(v) for e in run["losses"] for v in e["terms"].values())
        # the heatmap term trains in the supervised run only; the classification terms in both
        assert ("mse" in run["losses"][0]["terms"]) == (run["regime"] == "full")
        assert "cls_decoder" in run["losses"][0]["terms"]
        assert run["steps"] >= s["run_epochs"] and _positive(run["train_img_per_s"]) and _positive(run["peak_mem_mb"])
        assert run["falling"] == (run["losses"][-1]["total"] < run["losses"][0]["total"])
        assert run["location_metric"] == "PCK@0.1"
        assert set(run["readouts"]) == {"responses", "cams", "product", "token_scores"}
        assert all(v is None or 0 <= v <= 1 for v in run["readouts"].values())
        assert set(run["classification"]) == {"cnn", "encoder", "decoder"}
        assert run["val_instances"] >= 1 and _positive(run["infer_img_per_s"])


def test_without_cuda_it_says_so_in_one_line(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no device, even on a GPU machine
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "out")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(lines) == 1 and "CUDA" in lines[0] and "--cpu-dry" in lines[0]
    assert not (tmp_path / "out").exists()


def test_budget_skips_what_does_not_fit_and_records_failures():
    from harness.gpu_check.budget import Budget

    budget = Budget(seconds=100)
    assert budget.run("fits", 1, lambda: 7) == 7
    assert budget.run("too big", 1000, lambda: pytest.fail("a task that does not fit must not start")) is None
    assert budget.run("breaks", 1, lambda: 1 / 0) is None
    assert budget.run("after", 1, lambda: "still runs") == "still runs"
    log = {t["name"]: t for t in budget.log}
    assert [t["status"] for t in budget.log] == ["ok", "skipped", "failed", "ok"]
    assert "needs ~1000 s" in log["too big"]["reason"]
    assert log["breaks"]["error"] == "ZeroDivisionError: division by zero" and "1 / 0" in log["breaks"]["traceback"]


def test_watchdog_writes_what_it_has_and_ends_the_process(tmp_path):
    marker = tmp_path / "cut.txt"
    code = (f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n"
            "from harness.gpu_check.budget import Watchdog\n"
            f"Watchdog(0.1, lambda: open({str(marker)!r}, 'w').write('cut')).start()\n"
            "time.sleep(60)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and marker.read_text() == "cut"
