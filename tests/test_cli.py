"""CLI entry points that glue modules together: plan's table and estimate, trial, synth, evaluate."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from tiny import tiny_config
from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_plan_table_and_estimate(capsys):
    assert main(["plan", str(ROOT / "run_matrix.yaml"), "--scale", "full"]) == 0
    out = capsys.readouterr().out
    assert "59 trials" in out.splitlines()[-2] or "59 trials" in out
    assert "GPU-hours" in out and "days on 4 GPUs" in out
    assert "missing data" in out  # no real datasets here; plan still works


def test_trial_command_runs_a_config_file(tmp_path, capsys, twin_cache):
    cfg = tiny_config("mpii", epochs=1)
    path = tmp_path / "trial.yaml"
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    assert main(["trial", str(path), "--out", str(tmp_path / "t"), "--twin-cache", str(twin_cache)]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    saved = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert metrics == saved["metrics"] and "Mean" in metrics
    assert saved["evaluation"] == {"head_size_source": "joints"}  # no mpii_gt_val.mat: estimated head sizes
    # a metrics.json is itself a valid trial config file (its config is used)
    assert main(["trial", str(tmp_path / "t" / "metrics.json"), "--out", str(tmp_path / "t")]) == 0


def test_trial_command_bad_config(tmp_path, capsys):
    path = tmp_path / "trial.yaml"
    path.write_text("model: {spe: maybe}\n")
    assert main(["trial", str(path), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "model.spe" in err[0]


def test_seeds_take_lists_and_ranges_and_refuse_bad_ones_in_one_line(capsys):
    """--seeds '0-2,5' is the plan of seeds 0, 1, 2 and 5 (each row once per seed, as '0,1,2,5');
    a range that ends before it starts, a negative seed, a word or a seed given twice exit 2 with
    one line naming the option. Before ranges, '0-2' was refused as not an integer."""
    matrix = str(ROOT / "run_matrix.yaml")

    def plan(seeds: str) -> list[dict]:
        assert main(["plan", matrix, "--scale", "smoke", "--seeds", seeds, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    ranged, listed = plan("0-2,5"), plan("0,1,2,5")
    assert sorted(t["id"] for t in ranged) == sorted(t["id"] for t in listed)
    assert {t["config"]["seed"] for t in ranged} == {0, 1, 2, 5}
    one = plan("0")
    assert len(ranged) == 4 * len(one)
    for bad in ("3-1", "-1", "0,x", "0-2,2", ""):
        try:
            code = main(["plan", matrix, "--scale", "smoke", "--seeds", bad])
        except SystemExit as exc:
            code = exc.code
        assert code == 2, bad
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--seeds" in err[0], (bad, err)
