"""A fourth dataset declared in this test alone runs through the whole harness (issue 22).

`TOY` is an LSP-like dataset of 14 joints in COCO's file format, with its own OKS sigmas, flip
pairs, skeleton, layout and twin. It is put into `SPECS` for the test (monkeypatch, restored
after it) and nothing else is changed: `harness plan` on a matrix that uses it, the runner's data
preparation (its synthetic twin, the mean-pose reference), its trials in-process (`run_trial`,
what a Ray Tune trial runs), `harness evaluate` with its sigmas, and `harness report`.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.cli import main
from harness.config import ConfigError, DatasetConfig
from harness.data.specs import SPECS, CocoJson, DatasetLayout, KeypointSpec, OksAP, SceneStyle, TwinStyle
from harness.evaluation.pck_box import box_pck
from harness.layout import merge_index, run_dir, twin_cache_dir
from harness.matrix import expand
from harness.reference import reference_name
from harness.runner import prepare_data
from harness.trial import run_trial

KIND = "toy14"
TOY = KeypointSpec(
    name=KIND,
    title="Toy-14",
    joints=("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
            "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
            "neck", "head_top"),
    flip_pairs=((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9)),
    skeleton=((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 12), (12, 9), (9, 10), (10, 11),
              (12, 13), (8, 2), (9, 3)),
    # its own: about 0.6 x CrowdPose's sigmas for the same joints, so that a wrong spec shows
    sigmas=(0.053, 0.052, 0.064, 0.064, 0.052, 0.053, 0.037, 0.043, 0.047, 0.047, 0.043, 0.037, 0.047, 0.047),
    evaluator=OksAP(),
    files=CocoJson(area=True),
    twin=TwinStyle(scene=SceneStyle(size=(224, 288), people=(0.6, 0.4), heights=(110.0, 220.0),
                                    x_range=(0.15, 0.85), y_range=(0.45, 0.9), occluder_prob=0.3),
                   first_id=1, split_stride=50_000, digits=6),
    primary_metric="AP",
    location_metric="PCK@0.1",
    response_groups={"Head": (13,), "Sho": (8, 9), "Elb": (7, 10), "Wri": (6, 11), "Hip": (2, 3),
                     "Kne": (1, 4), "Ank": (0, 5)},
    table_columns=(("AP", "AP"), ("AR", "AR")),
    published_train_instances=1_000,
    layout=DatasetLayout(train_ann="annotations/toy_train.json", val_ann="annotations/toy_val.json",
                         train_images="images", val_images="images"),
)
K = TOY.num_joints
ROWS = [{"model": {"spe": False, "multi_scale": False, "reppg": False, "pdc": False}},
        {"model": {"spe": True, "multi_scale": False, "reppg": True, "pdc": True}}]


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(SPECS, KIND, TOY)
    return TOY


def _cli(argv: list[str]) -> tuple[int, str, str]:
    """`harness ARGV` in this process (where the toy spec is registered): exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            rc = int(exc.code)
    return rc, out.getvalue(), err.getvalue()


def _matrix(tmp_path: Path) -> Path:
    data = {
        "name": "toy",
        "datasets": {"toy": {"kind": KIND}},
        "backbones": {"resnet18": {"pretrained": None}},
        "defaults": {"dataset": "toy", "device": "cpu",
                     "model": {"backbone": "resnet18", "input_size": [64, 48], "d_model": 32, "nhead": 4,
                               "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1, "dropout": 0.0},
                     # num_workers 0: the spec is registered in this process only
                     "schedule": {"epochs": 1, "batch_size": 8, "lr": 0.001, "lr_steps": [],
                                  "max_train_instances": 16, "max_val_instances": 8, "num_workers": 0}},
        "resources": {"gpus_per_trial": 0, "cpus_per_trial": 1},
        "scales": {"smoke": {"datasets": "synthetic", "twin_images": {KIND: 12}, "twin_val_images": {KIND: 6}}},
        "studies": {"table5": {"table": "table5", "rows": ROWS}},
    }
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_fourth_dataset_declared_once_runs_through_plan_trials_evaluation_and_report(toy, tmp_path):
    matrix = _matrix(tmp_path)

    # harness plan: the matrix's dataset kind is checked against SPECS and resolved with its joints
    rc, out, err = _cli(["plan", str(matrix), "--scale", "smoke", "--json"])
    assert rc == 0, err
    planned = json.loads(out)
    assert len(planned) == len(ROWS)
    for t in planned:
        assert t["config"]["dataset"]["kind"] == KIND
        assert t["config"]["model"]["num_keypoints"] == K
        assert t["config"]["model"]["skeleton"] == [list(e) for e in TOY.skeleton]
    rc, text, err = _cli(["plan", str(matrix), "--scale", "smoke"])
    assert rc == 0 and all(t["id"] in text for t in planned), err

    # what `harness run` does before and around its Ray Tune trials, then each trial as a trial runs
    plan = expand(matrix, "smoke")
    assert [t.id for t in plan.trials] == [t["id"] for t in planned]
    root = tmp_path / "results"
    folder, twins = run_dir(root, plan.name, plan.scale), twin_cache_dir(root)
    folder.mkdir(parents=True)
    merge_index(plan, folder, {t.id: reference_name(t.config) for t in plan.trials}, list(plan.studies))
    prepare_data(plan, folder, twins, lambda msg: None)
    records = {t.id: run_trial(t.config, folder / t.id, twin_cache=twins) for t in plan.trials}

    # the twin is in the toy's file format and naming, with its joints and skeleton
    (twin,) = [p for p in twins.iterdir() if p.is_dir()]
    val = json.loads((twin / TOY.layout.val_ann).read_text())
    category = val["categories"][0]
    assert category["keypoints"] == list(TOY.joints)
    assert category["skeleton"] == [[a + 1, b + 1] for a, b in TOY.skeleton]
    assert all(len(a["keypoints"]) == 3 * K and "area" in a for a in val["annotations"])
    assert [i["file_name"] for i in val["images"]][:2] == ["050001.jpg", "050002.jpg"]

    # every trial scored by the toy's evaluator: its metrics recomputed from its predictions file
    # by the libraries themselves, with its sigmas
    for tid, m in records.items():
        assert m["status"] == "completed", m.get("error")
        assert m["config"]["model"]["num_keypoints"] == K
        preds = json.loads((folder / tid / "predictions.json").read_text())
        assert preds and all(len(p["keypoints"]) == 3 * K for p in preds)
        image_ids = sorted({p["image_id"] for p in preds})
        assert m["metrics"]["PCK@0.1"] == box_pck(val, preds, K, image_ids=image_ids)
        assert m["metrics"]["AP"] == pytest.approx(_pycocotools_ap(twin / TOY.layout.val_ann, preds, image_ids),
                                                   abs=1e-12)
        assert set(m["readouts"]) == {"responses", "cams", "product", "token_scores"}
        assert all(set(r) == {"PCK@0.1"} for r in m["readouts"].values())
        assert set(m["response_stats"]) == set(TOY.response_groups)
        assert list(m["errors"]["joints"]) == list(TOY.joints)
        per_image = np.load(folder / tid / "per_image.npz")
        assert str(per_image["kind"]) == KIND
    ref = json.loads((folder / "references" / f"{reference_name(plan.trials[0].config)}.json").read_text())
    assert ref["kind"] == KIND and set(ref["metrics"]) >= {"AP", "PCK@0.1"}

    # harness report: the study page lists the toy's trials and names its dataset
    rc, out, err = _cli(["report", "--results", str(root), "--out", str(tmp_path / "reports")])
    assert rc == 0, err
    page = (tmp_path / "reports" / "study-table5.html").read_text()
    assert all(tid in page for tid in records) and f"kind {KIND}" in page
    assert KIND in (tmp_path / "reports" / "index.html").read_text()


def _pycocotools_ap(ann_path: Path, preds: list[dict], image_ids: list[int]) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_path))
        ev = COCOeval(gt, gt.loadRes(preds), "keypoints")
        ev.params.kpt_oks_sigmas = np.array(TOY.sigmas)
        ev.params.imgIds = image_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def _one_person_file(tmp_path: Path) -> tuple[Path, np.ndarray, float]:
    """A COCO-format annotation file of one image with one person, every joint visible."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(20.0, 120.0, size=(K, 2))
    box = [10.0, 10.0, 120.0, 120.0]
    area = 9000.0
    ann = {"images": [{"id": 7, "file_name": "7.jpg", "width": 200, "height": 200}],
           "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0, "area": area, "bbox": box,
                            "num_keypoints": K, "keypoints": np.c_[xy, np.full(K, 2.0)].ravel().tolist()}],
           "categories": [{"id": 1, "name": "person", "keypoints": list(TOY.joints)}]}
    path = tmp_path / "toy_val.json"
    path.write_text(json.dumps(ann))
    return path, xy, area


def _ap_of_one_person(oks: float) -> float:
    """COCO AP of one detection of one person: the share of the thresholds .5:.05:.95 its OKS reaches."""
    thresholds = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
    return float(np.mean(oks >= thresholds))


def test_the_fourth_dataset_is_scored_with_its_own_sigmas(toy, tmp_path):
    ann, xy, area = _one_person_file(tmp_path)

    def evaluate(pred_xy: np.ndarray) -> dict:
        pred = tmp_path / "pred.json"
        pred.write_text(json.dumps([{"image_id": 7, "category_id": 1, "score": 0.8,
                                     "keypoints": np.c_[pred_xy, np.ones(K)].ravel().tolist()}]))
        rc, out, err = _cli(["evaluate", "--dataset", KIND, "--ann", str(ann), "--pred", str(pred)])
        assert rc == 0 and err == "", err
        return json.loads(out)

    exact = evaluate(xy)
    assert exact["AP"] == pytest.approx(1.0) and exact["PCK@0.1"] == 1.0

    # every joint 6.5 px off: OKS = mean over the joints of exp(-d^2 / (2 area (2 sigma)^2)) (pycocotools'
    # formula), ~0.77 with these sigmas: mid-way between two of AP's thresholds
    d = 6.5
    shifted = evaluate(xy + d / math.sqrt(2.0))
    oks = np.mean([math.exp(-d * d / (2.0 * area * (2.0 * s) ** 2)) for s in TOY.sigmas])
    assert shifted["AP"] == pytest.approx(_ap_of_one_person(oks), abs=1e-12)
    assert 0.0 < shifted["AP"] < 1.0
    crowdpose_oks = np.mean([math.exp(-d * d / (2.0 * area * (2.0 * s) ** 2)) for s in SPECS["crowdpose"].sigmas])
    assert _ap_of_one_person(crowdpose_oks) != shifted["AP"]  # another dataset's sigmas would not give it
    assert shifted["PCK@0.1"] == 1.0  # 6.5 px is within 0.1 x the box's 120 px

    # one joint 15 px off: outside box PCK@0.1's 12 px
    moved = xy.copy()
    moved[13, 0] += 15.0
    assert evaluate(moved)["PCK@0.1"] == pytest.approx((K - 1) / K)


def test_the_dataset_kind_choices_come_from_the_specs(monkeypatch):
    with pytest.raises(ConfigError, match=f"must be one of coco, mpii, crowdpose, got '{KIND}'"):
        DatasetConfig(name="toy", kind=KIND)
    monkeypatch.setitem(SPECS, KIND, TOY)
    assert DatasetConfig(name="toy", kind=KIND).kind == KIND
    rc, out, err = _cli(["evaluate", "--dataset", "lsp", "--ann", "a.json", "--pred", "p.json"])
    assert rc == 2 and KIND in err  # --dataset's choices are the specs'
