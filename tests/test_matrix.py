"""Matrix expansion (counts, dedupe, ids) and validation (malformed files -> one line, exit 2)."""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.config import TrialConfig
from harness.matrix import expand

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "run_matrix.yaml"


def _counts(plan):
    return {s: len(ids) for s, ids in plan.study_trials().items()}


def test_full_scale_lists_every_row_of_tables_1_to_6_once():
    plan = expand(MATRIX, "full")
    counts = _counts(plan)
    assert counts["table1"] == 12 and counts["table2"] == 2 and counts["table3"] == 2
    assert counts["table4"] == 24 and counts["table5"] == 8 and counts["table6"] == 6
    assert counts["factorial"] == 16
    ids = [t.id for t in plan.trials]
    assert len(ids) == len(set(ids))
    # Table 5's last row is Table 6's 4/6 row and Table 1's R50 256x192 LOFR row: one trial.
    full = [t for t in plan.trials if {"table5", "table6", "table1"} <= set(t.studies)]
    assert len(full) == 1
    m = full[0].config.model
    assert (m.spe, m.multi_scale, m.reppg, m.pdc, m.enc_layers, m.dec_layers) == (True, True, True, True, 4, 6)
    assert (m.backbone, m.input_size) == ("resnet50", (256, 192))
    # the number of distinct trials is the number of distinct resolved configs
    distinct = {json.dumps(t.config.to_dict(), sort_keys=True) for t in plan.trials}
    assert len(distinct) == len(plan.trials)
    study_sum = sum(counts.values())
    assert len(plan.trials) < study_sum  # dedupe happened


def test_smoke_scale_studies():
    plan = expand(MATRIX, "smoke")
    counts = _counts(plan)
    assert counts == {"table5": 8, "table6": 6, "datasets": 6, "table4": 1}
    (semi,) = [t for t in plan.trials if "table4" in t.studies]
    assert semi.config.supervision.regime == "semi"
    kinds = {t.config.dataset.kind for t in plan.trials if "datasets" in t.studies}
    assert kinds == {"coco", "mpii", "crowdpose"}
    assert all(t.config.dataset.synthetic and t.config.model.backbone == "resnet18" for t in plan.trials)
    assert all(t.missing_data == [] for t in plan.trials)
    # MPII twins get MPII's joints
    mpii = [t for t in plan.trials if t.config.dataset.kind == "mpii"]
    assert all(t.config.model.num_keypoints == 16 for t in mpii)


def test_trial_id_is_independent_of_key_order_and_study(tmp_path):
    data = yaml.safe_load(MATRIX.read_text())
    shuffled = copy.deepcopy(data)
    rng = random.Random(0)

    def shuffle(d):
        if isinstance(d, dict):
            items = list(d.items())
            rng.shuffle(items)
            return {k: shuffle(v) for k, v in items}
        if isinstance(d, list):
            return [shuffle(v) for v in d]
        return d

    shuffled = shuffle(shuffled)
    a = {t.id for t in expand(MATRIX, "full", data=data).trials}
    b = {t.id for t in expand(MATRIX, "full", data=shuffled).trials}
    assert a == b
    # the id is the hash of the resolved config, seed included
    t = expand(MATRIX, "smoke").trials[0]
    assert TrialConfig.from_dict(t.config.to_dict()).trial_id() == t.id
    t1 = expand(MATRIX, "smoke", seeds=[1]).trials[0]
    assert t1.id != t.id


def test_seeds_multiply_trials():
    one = expand(MATRIX, "smoke", seeds=[0])
    three = expand(MATRIX, "smoke", seeds=[0, 1, 2])
    assert len(three.trials) == 3 * len(one.trials)


def test_plan_json_cli(capsys):
    assert main(["plan", str(MATRIX), "--scale", "smoke", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == 18
    assert set(items[0]) == {"id", "studies", "config", "resources", "missing_data"}


def test_plan_json_resolves_loader_workers_from_the_cpus_per_trial(tmp_path, capsys):
    assert main(["plan", str(MATRIX), "--json"]) == 0  # full scale: 4 CPUs, 1 GPU per trial
    items = json.loads(capsys.readouterr().out)
    assert {i["config"]["schedule"]["num_workers"] for i in items} == {3}
    assert expand(MATRIX, "full").trials[0].config.schedule.num_workers is None  # resolved in the view
    data = yaml.safe_load(MATRIX.read_text())

    def plan_json(resources: dict, schedule: dict | None = None) -> list[dict]:
        changed = copy.deepcopy(data)
        changed["resources"] = resources
        if schedule:
            changed["defaults"]["schedule"].update(schedule)
        path = tmp_path / "m.yaml"
        path.write_text(yaml.safe_dump(changed))
        assert main(["plan", str(path), "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    six = plan_json({"gpus_per_trial": 1, "cpus_per_trial": 6})
    assert {i["config"]["schedule"]["num_workers"] for i in six} == {5}
    two_gpus = plan_json({"gpus_per_trial": 2, "cpus_per_trial": 8})  # data-parallel: per rank
    assert {i["config"]["schedule"]["num_workers"] for i in two_gpus} == {3}
    explicit = plan_json({"gpus_per_trial": 1, "cpus_per_trial": 6}, {"num_workers": 1})
    assert {i["config"]["schedule"]["num_workers"] for i in explicit} == {1}
    # the worker count is not part of a trial's identity
    assert {i["id"] for i in explicit} == {i["id"] for i in six} == {i["id"] for i in items}


def test_plan_reports_missing_data_and_run_refuses(tmp_path, capsys):
    plan = expand(MATRIX, "full")
    assert all(t.missing_data for t in plan.trials)  # no real datasets on this machine
    code = main(["run", str(MATRIX), "--scale", "full", "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "dataset path not found" in err[0] and str(MATRIX) in err[0]
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("metrics.json"))


# ---------------------------------------------------------------------------------------------
# Malformed matrix files: each gives one line naming the file (and the key), exit code 2.

BASE = {
    "name": "m",
    "datasets": {"coco": {"kind": "coco", "root": "data/coco", "train_ann": "a.json", "val_ann": "b.json",
                          "train_images": "t", "val_images": "v"}},
    "backbones": {"resnet18": {"pretrained": None}},
    "defaults": {"dataset": "coco", "model": {"backbone": "resnet18", "input_size": [64, 48]}},
    "seeds": [0],
    "resources": {"gpus_per_trial": 0, "cpus_per_trial": 1},
    "scales": {"full": {}, "smoke": {"datasets": "synthetic", "twin_images": {"default": 8}}},
    "studies": {"table5": {"table": "table5", "title": "t5", "rows": [{"model": {"spe": False}}]}},
}


def _set(d, dotted, value):
    d = copy.deepcopy(d)
    node = d
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value
    return d


def _del(d, dotted):
    d = copy.deepcopy(d)
    node = d
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node[p]
    del node[parts[-1]]
    return d


ROW = "studies.table5.rows"
MUTATIONS = [
    ("top unknown key", lambda d: {**d, "studys": {}}, "studys"),
    ("datasets missing", lambda d: _del(d, "datasets"), "datasets"),
    ("datasets list", lambda d: _set(d, "datasets", ["coco"]), "datasets"),
    ("datasets empty", lambda d: _set(d, "datasets", {}), "datasets"),
    ("dataset unknown key", lambda d: _set(d, "datasets.coco.rooot", "x"), "rooot"),
    ("dataset bad kind", lambda d: _set(d, "datasets.coco.kind", "h36m"), "kind"),
    ("dataset kind missing", lambda d: _del(d, "datasets.coco.kind"), "kind"),
    ("dataset not mapping", lambda d: _set(d, "datasets.coco", "coco"), "datasets.coco"),
    ("dataset overrides list", lambda d: _set(d, "datasets.coco.overrides", [1]), "overrides"),
    ("dataset root int", lambda d: _set(d, "datasets.coco.root", 5), "root"),
    ("backbones list", lambda d: _set(d, "backbones", ["resnet18"]), "backbones"),
    ("backbone unknown key", lambda d: _set(d, "backbones.resnet18", {"weights": "x"}), "weights"),
    ("defaults list", lambda d: _set(d, "defaults", [1]), "defaults"),
    ("defaults unknown key", lambda d: _set(d, "defaults.optimizer", "sgd"), "optimizer"),
    ("defaults bad model key", lambda d: _set(d, "defaults.model.transformer", 1), "transformer"),
    ("seeds string", lambda d: _set(d, "seeds", "0"), "seeds"),
    ("seeds negative", lambda d: _set(d, "seeds", [-1]), "seeds"),
    ("seeds bool", lambda d: _set(d, "seeds", [True]), "seeds"),
    ("seeds empty", lambda d: _set(d, "seeds", []), "seeds"),
    ("seeds float", lambda d: _set(d, "seeds", [0.5]), "seeds"),
    ("resources unknown", lambda d: _set(d, "resources.gpu", 1), "gpu"),
    ("resources negative gpus", lambda d: _set(d, "resources.gpus_per_trial", -1), "gpus_per_trial"),
    ("resources 1.5 gpus", lambda d: _set(d, "resources.gpus_per_trial", 1.5), "gpus_per_trial"),
    ("resources zero cpus", lambda d: _set(d, "resources.cpus_per_trial", 0), "cpus_per_trial"),
    ("resources string", lambda d: _set(d, "resources.cpus_per_trial", "four"), "cpus_per_trial"),
    ("resources failures float", lambda d: _set(d, "resources.max_failures", 1.5), "max_failures"),
    ("resources not mapping", lambda d: _set(d, "resources", 4), "resources"),
    ("scales list", lambda d: _set(d, "scales", ["full"]), "scales"),
    ("scale unknown key", lambda d: _set(d, "scales.full", {"epochs": 3}), "epochs"),
    ("scale bad datasets", lambda d: _set(d, "scales.full", {"datasets": "fake"}), "datasets"),
    ("scale twin negative", lambda d: _set(d, "scales.full", {"twin_images": {"coco": -3}}), "twin_images"),
    ("scale override list", lambda d: _set(d, "scales.full", {"override": [1]}), "override"),
    ("scale override bad key", lambda d: _set(d, "scales.full", {"override": {"model": {"depth": 2}}}), "depth"),
    ("scale unknown study", lambda d: _set(d, "scales.full", {"studies": {"table9": "all"}}), "table9"),
    ("scale bad selector", lambda d: _set(d, "scales.full", {"studies": {"table5": "some"}}), "table5"),
    ("scale resources bad", lambda d: _set(d, "scales.full", {"resources": {"cpus_per_trial": -2}}), "cpus_per_trial"),
    ("studies missing", lambda d: _del(d, "studies"), "studies"),
    ("studies empty", lambda d: _set(d, "studies", {}), "studies"),
    ("study unknown key", lambda d: _set(d, "studies.table5.colums", 1), "colums"),
    ("study bad table", lambda d: _set(d, "studies.table5.table", "table9"), "table"),
    ("study rows mapping", lambda d: _set(d, ROW, {"model": {}}), "rows"),
    ("study rows empty", lambda d: _set(d, ROW, []), "rows"),
    ("study row not mapping", lambda d: _set(d, ROW, ["baseline"]), "rows"),
    ("study grid list", lambda d: _set(d, "studies.table5.grid", ["a"]), "grid"),
    ("study grid empty values", lambda d: _set(d, "studies.table5.grid", {"model.spe": []}), "model.spe"),
    ("study grid bad key", lambda d: _set(d, "studies.table5.grid", {"model.sep": [True]}), "sep"),
    ("study cross not list", lambda d: _set(d, "studies.table5.cross", {"a": 1}), "cross"),
    ("study title int", lambda d: _set(d, "studies.table5.title", 5), "title"),
    ("row unknown model key", lambda d: _set(d, ROW, [{"model": {"spee": True}}]), "spee"),
    ("row spe string", lambda d: _set(d, ROW, [{"model": {"spe": "yes"}}]), "spe"),
    ("row enc_layers string", lambda d: _set(d, ROW, [{"model": {"enc_layers": "four"}}]), "enc_layers"),
    ("row input size 3 values", lambda d: _set(d, ROW, [{"model": {"input_size": [64, 48, 3]}}]), "input_size"),
    ("row input size not /16", lambda d: _set(d, ROW, [{"model": {"input_size": [60, 40]}}]), "input_size"),
    ("row unknown backbone", lambda d: _set(d, ROW, [{"model": {"backbone": "vgg16"}}]), "backbone"),
    ("row unknown dataset", lambda d: _set(d, ROW, [{"dataset": "h36m"}]), "dataset"),
    ("row bad regime", lambda d: _set(d, ROW, [{"supervision": {"regime": "weak"}}]), "regime"),
    ("row semi without fraction", lambda d: _set(d, ROW, [{"supervision": {"regime": "semi"}}]), "fraction"),
    ("row fraction > 1", lambda d: _set(d, ROW, [{"supervision": {"regime": "semi", "fraction": 5}}]), "fraction"),
    ("row epochs float", lambda d: _set(d, ROW, [{"schedule": {"epochs": 1.5}}]), "epochs"),
    ("row lr string", lambda d: _set(d, ROW, [{"schedule": {"lr": "fast"}}]), "lr"),
    ("row lr_steps not list", lambda d: _set(d, ROW, [{"schedule": {"lr_steps": 170}}]), "lr_steps"),
    ("row unknown section", lambda d: _set(d, ROW, [{"optimizer": {"lr": 1}}]), "optimizer"),
    ("row d_model indivisible", lambda d: _set(d, ROW, [{"model": {"d_model": 30, "nhead": 8}}]), "nhead"),
    ("name with slash", lambda d: _set(d, "name", "a/b"), "name"),
    ("row seed string", lambda d: _set(d, ROW, [{"seed": "zero"}]), "seed"),
    # ranges (issue 13 item 9)
    ("row epochs negative", lambda d: _set(d, ROW, [{"schedule": {"epochs": -1}}]), "epochs"),
    ("row epochs zero", lambda d: _set(d, ROW, [{"schedule": {"epochs": 0}}]), "epochs"),
    ("row batch size zero", lambda d: _set(d, ROW, [{"schedule": {"batch_size": 0}}]), "batch_size"),
    ("row lr zero", lambda d: _set(d, ROW, [{"schedule": {"lr": 0}}]), "lr"),
    ("row lr negative", lambda d: _set(d, ROW, [{"schedule": {"lr": -0.1}}]), "lr"),
    ("row lr step zero", lambda d: _set(d, ROW, [{"schedule": {"lr_steps": [0]}}]), "lr_steps"),
    ("row max val zero", lambda d: _set(d, ROW, [{"schedule": {"max_val_instances": 0}}]), "max_val_instances"),
    ("row weight decay negative", lambda d: _set(d, ROW, [{"schedule": {"weight_decay": -1}}]), "weight_decay"),
    ("row fraction zero", lambda d: _set(d, ROW, [{"supervision": {"regime": "sup_only", "fraction": 0}}]), "fraction"),
    ("row nhead zero", lambda d: _set(d, ROW, [{"model": {"nhead": 0}}]), "nhead"),
    ("row dropout one", lambda d: _set(d, ROW, [{"model": {"dropout": 1.0}}]), "dropout"),
    ("row device gpu", lambda d: _set(d, ROW, [{"device": "gpu0"}]), "device"),
    ("dataset twin size negative", lambda d: _set(d, ROW, [{"dataset": "coco"}]) | {"datasets": {
        "coco": {**d["datasets"]["coco"], "overrides": {"schedule": {"batch_size": -4}}}}}, "batch_size"),
    ("grid value out of range", lambda d: _set(d, "studies.table5.grid", {"schedule.epochs": [1, -2]}), "epochs"),
    ("scale twin unknown kind", lambda d: _set(d, "scales.full", {"twin_images": {"cocoo": 8}}), "cocoo"),
    ("scale name with slash", lambda d: _set(d, "scales", {"full": {}, "a/b": {}}), "a/b"),
    ("where unknown key", lambda d: _set(d, "scales.full",
                                         {"studies": {"table5": {"where": {"model.backbonee": "resnet18"}}}}), "backbonee"),
    ("where wrong type", lambda d: _set(d, "scales.full",
                                        {"studies": {"table5": {"where": {"supervision.fraction": "ten"}}}}), "fraction"),
    ("where unknown dataset", lambda d: _set(d, "scales.full",
                                             {"studies": {"table5": {"where": {"dataset": "h36m"}}}}), "h36m"),
]

RAW = [
    ("yaml syntax", "name: m\nstudies: [unclosed\n", "YAML"),
    ("top-level list", "- a\n- b\n", "mapping"),
    ("empty file", "", "mapping"),
    ("tabs", "name:\tm\n\tstudies: 1\n", "YAML"),
    ("python tag", "name: !!python/object/apply:os.system ['true']\n", "YAML"),
]


def _run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


@pytest.mark.parametrize("label,mutate,key", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_malformed_matrix_one_line_exit_2(tmp_path, capsys, label, mutate, key):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(mutate(BASE), sort_keys=False))
    for cmd in (["plan", str(path)], ["run", str(path), "--results", str(tmp_path / "r")]):
        code, err = _run_cli(cmd, capsys)
        assert code == 2, (label, err)
        assert len(err) == 1, err
        assert str(path) in err[0] and key in err[0], err[0]
        assert "Traceback" not in err[0]
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.json"))


@pytest.mark.parametrize("label,text,needle", RAW, ids=[r[0] for r in RAW])
def test_unparsable_matrix_one_line_exit_2(tmp_path, capsys, label, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, err = _run_cli(["plan", str(path)], capsys)
    assert code == 2 and len(err) == 1 and str(path) in err[0] and needle in err[0], err


# Every value is checked whichever scale is chosen: each of these is invalid only in a part of
# the file that the smoke scale replaces or does not run.
SCALE_HIDDEN = [
    ("default overridden by the scale", lambda d: _set(_set(d, "defaults.schedule", {"epochs": -1}),
                                                       "scales.smoke.override", {"schedule": {"epochs": 1}}),
     "defaults.schedule.epochs"),
    ("invalid default batch size", lambda d: _set(_set(d, "defaults.schedule", {"batch_size": 0}),
                                                  "scales.smoke.override", {"schedule": {"batch_size": 4}}),
     "defaults.schedule.batch_size"),
    ("another scale's override", lambda d: _set(d, "scales.full", {"override": {"schedule": {"lr": -1}}}),
     "scales.full.override.schedule.lr"),
    ("a combination only the full scale runs", lambda d: _set(d, "scales.full", {"override": {
        "supervision": {"regime": "semi"}}}), "at scale full"),
]


@pytest.mark.parametrize("label,mutate,needle", SCALE_HIDDEN, ids=[m[0] for m in SCALE_HIDDEN])
def test_every_value_is_checked_whichever_scale_is_chosen(tmp_path, capsys, label, mutate, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(mutate(BASE), sort_keys=False))
    for cmd in (["plan", str(path), "--scale", "smoke"],
                ["run", str(path), "--scale", "smoke", "--results", str(tmp_path / "r")]):
        code, err = _run_cli(cmd, capsys)
        assert code == 2 and len(err) == 1 and str(path) in err[0] and needle in err[0], (label, err)
    assert not (tmp_path / "r").exists()


def test_where_selects_on_the_resolved_config():
    """A `where` value equal to a default (not written in the row) selects the row."""
    data = _set(BASE, "studies.table5.rows", [{"model": {"spe": False}}, {"model": {"spe": True}}])
    data = _set(data, "scales.smoke.studies", {"table5": {"where": {"model.spe": True, "schedule.epochs": 210,
                                                                     "dataset": "coco"}}})
    plan = expand(Path("x.yaml"), "smoke", data=data)
    assert [t.config.model.spe for t in plan.trials] == [True]


def test_there_are_at_least_50_malformed_cases():
    assert len(MUTATIONS) + len(RAW) >= 50


def test_base_fixture_is_valid():
    plan = expand(Path("x.yaml"), "smoke", data=copy.deepcopy(BASE))
    assert len(plan.trials) == 1


def test_missing_matrix_file(tmp_path, capsys):
    code, err = _run_cli(["plan", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and len(err) == 1 and "not found" in err[0]


def test_cli_unknown_subcommand_and_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fly"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(["plan", str(MATRIX), "--bogus"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_cli_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for sub in ("run", "plan", "report", "evaluate", "synth", "trial"):
        assert sub in out


def test_ablation_files_are_the_matrix_split_by_table():
    whole = {t.id: set(t.studies) for t in expand(MATRIX, "full").trials}
    union: dict[str, set] = {}
    for f in sorted((ROOT / "ablations").glob("*.yaml")):
        plan = expand(f, "full")
        assert list(plan.studies) == [f.stem]
        for t in plan.trials:
            union.setdefault(t.id, set()).update(t.studies)
    assert union == whole


def test_extends_cycle_and_bad_select(tmp_path, capsys):
    a = tmp_path / "a.yaml"
    a.write_text("extends: a.yaml\n")
    code, err = _run_cli(["plan", str(a)], capsys)
    assert code == 2 and len(err) == 1 and "extends" in err[0]
    b = tmp_path / "b.yaml"
    b.write_text(f"extends: {MATRIX}\nselect: [table9]\n")
    code, err = _run_cli(["plan", str(b)], capsys)
    assert code == 2 and len(err) == 1 and "table9" in err[0]
