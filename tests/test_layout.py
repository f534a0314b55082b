"""The results folder's layout (harness/layout.py): one run folder per matrix and scale, index.json
merged over partial runs, the report finding the run folder under a root, references keyed by
everything that shapes them."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.config import TrialConfig
from harness.errors import UserError
from harness.layout import merge_index, pick_run_dir, run_dir
from harness.matrix import expand
from harness.reference import reference_name, write_reference
from harness.trial import resolve_dataset

TINY_MODEL = {"backbone": "resnet18", "input_size": [64, 48], "d_model": 32, "nhead": 4,
              "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1}
MATRIX = {
    "name": "m",
    "datasets": {"coco": {"kind": "coco"}},
    "backbones": {"resnet18": {"pretrained": None}},
    "resources": {"gpus_per_trial": 0, "cpus_per_trial": 1},
    "defaults": {"dataset": "coco", "model": TINY_MODEL,
                 "schedule": {"epochs": 1, "batch_size": 8, "lr": 0.001, "lr_steps": [],
                              "max_train_instances": 16, "max_val_instances": 8}},
    "scales": {"smoke": {"datasets": "synthetic", "twin_images": {"default": 16}, "twin_val_images": {"default": 8}},
               "tiny": {"datasets": "synthetic", "twin_images": {"default": 8}, "twin_val_images": {"default": 4}}},
    "studies": {
        "table5": {"table": "table5", "rows": [{"model": {"spe": False}}, {"model": {"spe": True}}]},
        # its first row is table5's second: one trial shared by the two studies
        "table6": {"table": "table6", "rows": [{"model": {"spe": True}}, {"model": {"spe": True, "enc_layers": 2}}]},
    },
}


def _plan(data=MATRIX, scale="smoke", seeds=None, only=None):
    plan = expand(Path("m.yaml"), scale, seeds, data=copy.deepcopy(data))
    order = list(plan.studies)
    return (plan.only(only) if only else plan), order


def test_index_is_merged_over_only_runs_added_seeds_and_a_grown_matrix(tmp_path):
    folder = run_dir(tmp_path, "m", "smoke")
    plan5, order = _plan(only="table5")
    merge_index(plan5, folder, {}, order)
    plan6, _ = _plan(only="table6")
    index = merge_index(plan6, folder, {}, order)
    full, _ = _plan()
    assert list(index["studies"]) == ["table5", "table6"]
    assert index["studies"] == {s: {"table": s, "title": full.studies[s].title, "trials": ids}
                                for s, ids in full.study_trials().items()}
    shared = [t.id for t in full.trials if t.studies == ["table5", "table6"]]
    assert len(shared) == 1 and index["trials"][shared[0]]["studies"] == ["table5", "table6"]
    assert json.loads((folder / "index.json").read_text()) == index
    # added seeds: seed 1 alone keeps seed 0's trials
    seed1, _ = _plan(seeds=[1], only="table5")
    index = merge_index(seed1, folder, {}, order)
    assert index["studies"]["table5"]["trials"] == [t.id for t in seed1.trials] + full.study_trials()["table5"]
    # a grown matrix: a new study and a new row are added, nothing is lost
    grown = copy.deepcopy(MATRIX)
    grown["studies"]["table5"]["rows"].append({"model": {"pdc": False}})
    grown["studies"]["factorial"] = {"table": "factorial", "rows": [{"model": {"reppg": False}}]}
    plan_g, order_g = _plan(grown)
    index = merge_index(plan_g, folder, {t.id: "ref" for t in plan_g.trials}, order_g)
    assert list(index["studies"]) == ["table5", "table6", "factorial"]
    assert set(index["studies"]["table5"]["trials"]) == {t.id for t in plan_g.trials if "table5" in t.studies} | {
        t.id for t in seed1.trials}
    assert all(index["trials"][t.id]["reference"] == "ref" for t in plan_g.trials)


def test_a_broken_index_is_a_one_line_error_and_is_kept(tmp_path):
    folder = run_dir(tmp_path, "m", "smoke")
    folder.mkdir(parents=True)
    (folder / "index.json").write_text("{broken")
    with pytest.raises(UserError, match="index.json: cannot be read"):
        merge_index(_plan()[0], folder, {}, [])
    assert (folder / "index.json").read_text() == "{broken"


def test_report_picks_the_single_run_folder_under_a_root(tmp_path, capsys):
    root = tmp_path / "results"
    with pytest.raises(UserError, match="results folder not found"):
        pick_run_dir(root)
    root.mkdir()
    with pytest.raises(UserError, match="no run folder"):
        pick_run_dir(root)
    smoke = run_dir(root, "m", "smoke")
    merge_index(_plan()[0], smoke, {}, [])
    assert pick_run_dir(root) == smoke == pick_run_dir(root / "m") == pick_run_dir(smoke)
    tiny = run_dir(root, "m", "tiny")
    merge_index(_plan(scale="tiny")[0], tiny, {}, [])
    assert pick_run_dir(tiny) == tiny
    with pytest.raises(UserError) as info:
        pick_run_dir(root)
    assert "m/smoke, m/tiny" in str(info.value) and "\n" not in str(info.value)
    code = main(["report", "--results", str(root), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "m/smoke, m/tiny" in err[0]
    assert not (tmp_path / "out").exists()


def test_references_are_named_by_everything_that_shapes_them():
    smoke, tiny = _plan()[0].trials, _plan(scale="tiny")[0].trials
    assert len({reference_name(t.config) for t in smoke}) == 1  # model switches do not shape it
    assert reference_name(smoke[0].config) != reference_name(tiny[0].config)  # another twin
    assert all(reference_name(t.config).startswith("coco_synth-") for t in smoke + tiny)
    other = copy.deepcopy(MATRIX)
    other["defaults"]["schedule"]["max_val_instances"] = 4
    assert reference_name(_plan(other)[0].trials[0].config) != reference_name(smoke[0].config)
    other = copy.deepcopy(MATRIX)
    other["defaults"]["model"]["input_size"] = [128, 96]
    assert reference_name(_plan(other)[0].trials[0].config) != reference_name(smoke[0].config)


def test_plan_and_plan_json_leave_no_file_behind(tmp_path, monkeypatch, capsys):
    """Both forms of `harness plan` write nothing into the project or the results root."""
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(MATRIX))
    monkeypatch.chdir(tmp_path)
    before = sorted(p for p in tmp_path.rglob("*"))
    assert main(["plan", str(path), "--scale", "smoke"]) == 0
    assert main(["plan", str(path), "--scale", "smoke", "--json"]) == 0
    assert main(["plan", str(Path(__file__).resolve().parents[1] / "run_matrix.yaml")]) == 0
    capsys.readouterr()
    assert sorted(p for p in tmp_path.rglob("*")) == before


# -- end to end through `harness run` (Ray, tiny trials) ------------------------------------------

@pytest.fixture
def ray_shutdown():
    yield
    import ray

    ray.shutdown()


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_each_scale_runs_into_its_own_folder_with_its_own_references(tmp_path, capsys, ray_shutdown):
    data = copy.deepcopy(MATRIX)
    data["studies"] = {"table5": {"table": "table5", "rows": [{"model": {"spe": False}}]}}
    matrix, root = _write(tmp_path, data), tmp_path / "results"
    for scale in ("smoke", "tiny"):
        assert main(["run", str(matrix), "--scale", scale, "--results", str(root)]) == 0
    capsys.readouterr()
    twins = {"smoke": (16, 8), "tiny": (8, 4)}
    names, refs = set(), []
    for scale, (n, m) in twins.items():
        folder = root / "m" / scale
        index = json.loads((folder / "index.json").read_text())
        assert index["scale"] == scale and len(index["trials"]) == 1
        (tid, entry), = index["trials"].items()
        metrics = json.loads((folder / tid / "metrics.json").read_text())
        ds = metrics["config"]["dataset"]
        assert metrics["status"] == "completed" and (ds["synth_images"], ds["synth_val_images"]) == (n, m)
        ref = json.loads((folder / "references" / f"{entry['reference']}.json").read_text())
        # the reference is this scale's twin's: recomputed from the trial's own config, it is the same
        cfg = TrialConfig.from_dict(metrics["config"])
        again = write_reference(resolve_dataset(cfg.dataset, root / ".twins"), cfg.model.input_size,
                                tmp_path / f"{scale}.json", cfg.schedule.max_val_instances)
        assert ref["dataset"] == "coco_synth" and ref["metrics"] == json.loads(json.dumps(again["metrics"]))
        names.add(entry["reference"])
        refs.append(ref["metrics"])
    assert len(names) == 2 and refs[0] != refs[1]  # the tiny run did not reuse the smoke run's reference
    code = main(["report", "--results", str(root), "--out", str(tmp_path / "out")])
    assert code == 2 and "m/smoke, m/tiny" in capsys.readouterr().err


def test_only_runs_of_two_studies_sharing_a_trial_merge_into_one_report(tmp_path, capsys, ray_shutdown):
    """The issue's "done when": --only table5, then --only table6, into one root; report renders it."""
    matrix, root = _write(tmp_path, MATRIX), tmp_path / "results"
    assert main(["run", str(matrix), "--scale", "smoke", "--only", "table5", "--results", str(root)]) == 0
    folder = root / "m" / "smoke"
    first = {p.parent.name: p.stat().st_mtime_ns for p in folder.glob("*/metrics.json")}
    assert len(first) == 2
    assert main(["run", str(matrix), "--scale", "smoke", "--only", "table6", "--results", str(root)]) == 0
    assert "2 trials, 1 already completed, 1 to run" in capsys.readouterr().out
    full, _ = _plan()
    index = json.loads((folder / "index.json").read_text())
    assert {s: v["trials"] for s, v in index["studies"].items()} == full.study_trials()
    shared = next(t.id for t in full.trials if len(t.studies) == 2)
    assert index["trials"][shared]["studies"] == ["table5", "table6"]
    assert folder.joinpath(shared, "metrics.json").stat().st_mtime_ns == first[shared]  # ran once
    assert sorted(p.name for p in root.iterdir()) == [".twins", "m"] and [p.name for p in (root / "m").iterdir()] == ["smoke"]
    assert main(["report", "--results", str(root), "--out", str(tmp_path / "out")]) == 0
    html = (tmp_path / "out" / "index.html").read_text()
    assert "study-table5.html" in html and "study-table6.html" in html
    table6 = (tmp_path / "out" / "study-table6.html").read_text()
    assert shared in table6
