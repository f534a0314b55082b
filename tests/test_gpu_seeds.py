"""scripts/gpu_seeds.py: a study's trials in several seeds, one after another without Ray and with
the location metric alone, give the numbers `run_trial` gives with the full evaluation; whole seeds
first; a ceiling that leaves no room starts nothing and says so (exit 3); a rerun resumes; bad
input is one line and exit 2."""
from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.config import TrialConfig
from harness.errors import UserError
from harness.evaluation.evaluator import LOCATION_ONLY
from harness.evaluation.per_image import load_per_image, location_vs_reference
from harness.reference import reference_name, write_reference
from harness.report import build_report
from harness.report.cells import percent_format
from harness.runner.run import RunOptions, run_matrix
from harness.trial import resolve_dataset, run_trial
from harness.trial.run import is_location_only
from script_loading import load_script

ROOT = Path(__file__).resolve().parents[1]
TINY_MODEL = {"backbone": "resnet18", "input_size": [64, 48], "d_model": 32, "nhead": 4,
              "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1}


def _script():
    return load_script("gpu_seeds", ROOT / "scripts" / "gpu_seeds.py")


def _seeds_script():
    return load_script("readings_seeds_gpu", ROOT / "experiments" / "readings" / "seeds.py")


def _matrix(tmp_path: Path) -> Path:
    data = {
        "name": "m",
        "datasets": {"coco": {"kind": "coco"}},
        "backbones": {"resnet18": {"pretrained": None}},
        "defaults": {"dataset": "coco", "model": TINY_MODEL, "device": "auto",
                     "schedule": {"epochs": 1, "batch_size": 8, "lr": 0.001, "lr_steps": [],
                                  "max_train_instances": 16, "max_val_instances": 8, "num_workers": 0}},
        "seeds": [0],
        "resources": {"gpus_per_trial": 0, "cpus_per_trial": 1, "max_failures": 1},
        "scales": {"smoke": {"datasets": "synthetic", "twin_images": {"default": 16},
                             "twin_val_images": {"default": 8}}},
        "studies": {"pair": {"table": "table5", "rows": [{"model": {"spe": False}}, {"model": {"spe": True}}]},
                    "other": {"table": "table5", "rows": [{"model": {"pdc": True}}]}},
    }
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_gpu_seeds_runs_a_study_seed_by_seed_and_scores_as_the_full_evaluation(tmp_path, capsys):
    module = _script()
    matrix, results = _matrix(tmp_path), tmp_path / "results"
    args = [str(matrix), "--scale", "smoke", "--only", "pair", "--seeds", "0-1", "--results", str(results)]

    # a ceiling with no room starts nothing, and says so
    assert module.main(args + ["--max-seconds", "0"]) == module.CEILING_CUT
    assert "0 of 4 trials completed" in capsys.readouterr().out
    run = results / "m" / "smoke"
    assert not list(run.glob("*/metrics.json"))

    assert module.main(args) == 0
    out = capsys.readouterr().out
    finished = [line.split()[1:4] for line in out.splitlines() if " s | " in line]
    assert [seed for _, _, seed in finished] == ["0", "0", "1", "1"]  # whole seeds first
    index = json.loads((run / "index.json").read_text())
    assert set(index["studies"]) == {"pair"} and len(index["studies"]["pair"]["trials"]) == 4

    records = {p.parent.name: json.loads(p.read_text()) for p in run.glob("*/metrics.json")}
    assert len(records) == 4 and all(r["status"] == "completed" for r in records.values())
    trial_id, record = sorted(records.items())[0]
    assert record["evaluation"]["metrics"] == LOCATION_ONLY and "AP" not in record["metrics"]
    assert record["metrics"]["PCK@0.1"] == record["readouts"]["responses"]["PCK@0.1"]

    # the same trial with the full evaluation (pycocotools): the same location figures
    cfg = TrialConfig.from_dict(record["config"])
    assert cfg.trial_id() == trial_id
    full = run_trial(cfg, tmp_path / "full", twin_cache=results / ".twins")
    assert "AP" in full["metrics"] and full["metrics"]["PCK@0.1"] == record["metrics"]["PCK@0.1"]
    assert full["readouts"] == record["readouts"]
    mine, theirs = np.load(run / trial_id / "per_image.npz"), np.load(tmp_path / "full" / "per_image.npz")
    for key in ("image_ids", "loc_correct", "loc_visible", "cams_loc_correct"):
        assert np.array_equal(mine[key], theirs[key]), key

    # the location-only mean pose reads as the full one, and does not stand in for it
    ref_path = run / "references" / f"{reference_name(cfg)}.json"
    located = json.loads(ref_path.read_text())
    assert located["location_only"] is True and "AP" not in located["metrics"]
    assert located["evaluation"]["metrics"] == LOCATION_ONLY  # the report's note on references reads it
    ds = resolve_dataset(cfg.dataset, results / ".twins")
    full_ref = write_reference(ds, cfg.model.input_size, ref_path, cfg.schedule.max_val_instances)
    assert full_ref["location_only"] is False and "AP" in full_ref["metrics"]
    assert full_ref["metrics"]["PCK@0.1"] == located["metrics"]["PCK@0.1"]

    # harness report reads them: no AP cells, each row's PCK@0.1 against the mean pose as the
    # bootstrap on the per-image counts gives it, and a note that says what these records are
    _report_reads_location_only(run, records, tmp_path / "report")
    # experiments/readings/seeds.py reads them: each seed's gap is B's figure minus A's
    pairs = []
    for seed in (0, 1):
        by_spe = {r["config"]["model"]["spe"]: tid for tid, r in records.items() if r["config"]["seed"] == seed}
        pairs.append((run / by_spe[False], run / by_spe[True]))
    responses = next(r for r in _seeds_script().across(pairs) if r.readout == "responses")
    expected = [records[b.name]["metrics"]["PCK@0.1"] - records[a.name]["metrics"]["PCK@0.1"] for a, b in pairs]
    assert responses.gaps == pytest.approx(expected)

    # a rerun resumes: nothing trains again
    stamps = {p: p.stat().st_mtime_ns for p in run.glob("*/metrics.json")}
    assert module.main(args) == 0
    assert capsys.readouterr().out.count("completed before") == 4
    assert {p: p.stat().st_mtime_ns for p in run.glob("*/metrics.json")} == stamps

    # harness run on the same root counts them completed (nothing to run: no Ray starts) and says
    # that they lack AP; the full evaluation's trial is not one of them
    summary = run_matrix(matrix, RunOptions(scale="smoke", only="pair", seeds=[0, 1], results_root=results))
    assert (summary.already_done, summary.completed) == (4, 0)
    said = capsys.readouterr().out
    assert "4 of the completed trials were scored by the location metric alone" in said
    assert all(is_location_only(run / tid) for tid in records) and not is_location_only(tmp_path / "full")
    assert {p: p.stat().st_mtime_ns for p in run.glob("*/metrics.json")} == stamps


def _report_reads_location_only(run: Path, records: dict, out: Path) -> None:
    build_report(run, out)
    page = (out / "study-pair.html").read_text()
    ref = np.load(next((run / "references").glob("*.npz")))
    fmt = percent_format("smoke")
    for spe in (False, True):
        trials = sorted(tid for tid, r in records.items() if r["config"]["model"]["spe"] is spe)
        correct = np.stack([load_per_image(run / tid / "per_image.npz")["loc_correct"] for tid in trials])
        delta, lo, hi = location_vs_reference(correct, ref["loc_correct"], ref["loc_visible"], n=1000, seed=0)
        assert html.escape(fmt.interval(delta, lo, hi)) in page
    assert "4 of 4 results here were scored by the location metric alone" in page
    table = page.split("<table", 2)[1]
    assert "AP" in table and "n=0" in table  # the AP columns are there, empty
    # a location-only file without its counts is one line naming it
    broken = out / "broken.npz"
    np.savez(broken, image_ids=np.arange(3), loc_correct=np.zeros(3))
    with pytest.raises(UserError, match=r"broken\.npz: location-only per-image file lacks loc_visible"):
        load_per_image(broken)


@pytest.mark.parametrize("flag, value, problem", [("--only", "nosuch", "--only nosuch: no such study"),
                                                  ("--scale", "nosuch", "nosuch")])
def test_gpu_seeds_bad_input_is_one_line_and_exit_2(tmp_path, capsys, flag, value, problem):
    module = _script()
    args = {"--scale": "smoke", "--only": "pair"}
    args[flag] = value
    argv = [str(_matrix(tmp_path))] + [x for kv in args.items() for x in kv] + ["--results", str(tmp_path / "r")]
    assert module.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and problem in err and "m.yaml" in err
    assert not (tmp_path / "r").exists()


def test_gpu_seeds_runs_where_ray_and_the_coco_tools_cannot_be_imported(tmp_path):
    """The bare GPU machine has neither Ray nor pycocotools / xtcocotools: the script, run in a
    subprocess where importing them raises ImportError (as tests/test_gpu_check.py does), completes
    its trials; the loader's workers (2 here) inherit the block. With a twin cache of its own and
    --results-only, the results folder keeps the two files seeds.py reads and no twin."""
    script = ROOT / "scripts" / "gpu_seeds.py"
    prelude = (f"import runpy, sys\nfor name in ('ray', 'pycocotools', 'xtcocotools'):\n    sys.modules[name] = None\n"
               f"sys.argv = [{str(script)!r}] + sys.argv[1:]\nrunpy.run_path({str(script)!r}, run_name='__main__')\n")
    results = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-c", prelude, str(_matrix(tmp_path)), "--scale", "smoke", "--only", "other",
                           "--seeds", "0", "--workers", "2", "--results", str(results),
                           "--twin-cache", str(tmp_path / "twins"), "--results-only"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 of 1 trials completed" in proc.stdout
    (record,) = [json.loads(p.read_text()) for p in (results / "m" / "smoke").glob("*/metrics.json")]
    assert record["status"] == "completed" and record["cost"]["loader_workers"] == 2
    (trial,) = [p for p in (results / "m" / "smoke").iterdir() if (p / "metrics.json").is_file()]
    assert sorted(p.name for p in trial.iterdir()) == ["metrics.json", "per_image.npz"]
    assert not (results / ".twins").exists() and any((tmp_path / "twins").iterdir())
