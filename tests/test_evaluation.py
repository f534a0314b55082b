"""Evaluators on the real samples: perfect scores for the ground truth, library-identical numbers
for a perturbed prediction set, `harness evaluate`, bad files, and the numpy bootstrap AP."""
from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest

from harness.data.specs import SPECS
from harness.errors import UserError
from harness.evaluation.evaluator import evaluate, evaluate_command
from harness.evaluation.coco import COCO_NAMES, CROWDPOSE_NAMES
from harness.evaluation.evaluator import PCK_NAME
from harness.evaluation.per_image import score_subset
from mat_files import write_gt_mat
from samples import SAMPLES

ANN = {"coco": "coco/test_coco.json", "crowdpose": "crowdpose/test_crowdpose.json", "mpii": "mpii/test_mpii.json"}


@pytest.fixture(scope="module")
def sample_dir() -> Path:
    return SAMPLES


def _gt_as_predictions(ann: dict) -> list[dict]:
    """Every annotated person (with at least one labelled joint) given back as a prediction."""
    return [{"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]), "score": 1.0}
            for a in ann["annotations"] if a["num_keypoints"] > 0]


def _perturbed(ann: dict, seed: int) -> list[dict]:
    """Shifted keypoints, random scores with ties, one person dropped, one duplicated far away."""
    rng = np.random.default_rng(seed)
    out = []
    people = [a for a in ann["annotations"] if a["num_keypoints"] > 0]
    for n, a in enumerate(people):
        if n == 1:
            continue  # a missed person
        kp = np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)
        kp[:, :2] += rng.normal(0.0, 2.0 + 3.0 * (n % 4), size=(len(kp), 2))
        kp[:, 2] = rng.uniform(0.0, 1.0, size=len(kp))
        score = float(np.round(rng.uniform(0.2, 1.0), 1))  # coarse: ties across images
        out.append({"image_id": a["image_id"], "category_id": 1, "keypoints": kp.reshape(-1).tolist(),
                    "score": score})
        if n == 2:  # a false positive
            fp = kp.copy()
            fp[:, :2] += 150.0
            out.append({"image_id": a["image_id"], "category_id": 1, "keypoints": fp.reshape(-1).tolist(),
                        "score": 0.9})
    return out


def _pycocotools_stats(ann_path: Path, preds: list[dict]) -> tuple[np.ndarray, object]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_path))
        ev = COCOeval(gt, gt.loadRes(copy.deepcopy(preds)), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats), ev


def _xtcocotools_stats(ann_path: Path, preds: list[dict]) -> np.ndarray:
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_path))
        ev = COCOeval(gt, gt.loadRes(copy.deepcopy(preds)), "keypoints_crowd",
                      np.array(SPECS["crowdpose"].sigmas), use_area=False)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def _assert_same(metrics: dict, names: tuple[str, ...], stats: np.ndarray) -> None:
    assert list(metrics) == list(names) + [PCK_NAME]  # the library's stats, then our box PCK
    for name, s in zip(names, stats):
        if s < 0:
            assert metrics[name] is None, name
        else:
            assert metrics[name] == pytest.approx(float(s), abs=1e-9), name


def _mpii_gt_predictions(ann: list[dict]) -> list[dict]:
    return [{"index": i, "keypoints": [[x, y, 1.0] for x, y in a["joints"]]} for i, a in enumerate(ann)]


def _standard_pckh(pred: np.ndarray, ann: list[dict], thr: float) -> dict[str, float]:
    """The standard MPII script's arithmetic (per-joint PCKh, count-weighted Mean without pelvis
    and thorax), written independently, with our derived head size."""
    gt = np.array([a["joints"] for a in ann], dtype=np.float64)
    vis = np.array([a["joints_vis"] for a in ann]) > 0
    size = 0.6 * np.sqrt(2) * np.linalg.norm(gt[:, 9] - gt[:, 8], axis=1)
    err = np.linalg.norm(pred - gt, axis=2) / size[:, None]
    count = vis.sum(axis=0).astype(np.float64)
    pck = ((err <= thr) & vis).sum(axis=0) / count
    ratio = count.copy()
    ratio[6:8] = 0
    ratio /= ratio.sum()
    out = {"Mean": float((pck * ratio).sum())}
    for name, joints in SPECS["mpii"].pckh_groups.items():
        out[name] = float(np.mean(pck[list(joints)]))
    return out


# -- ground truth scores perfectly ------------------------------------------------------------

def test_coco_ground_truth_scores_one(sample_dir):
    ann_path = sample_dir / ANN["coco"]
    preds = _gt_as_predictions(json.loads(ann_path.read_text()))
    res = evaluate("coco", ann_path, preds)
    assert list(res.metrics) == list(COCO_NAMES) + [PCK_NAME]
    assert SPECS["coco"].location_metric in res.metrics and SPECS["coco"].primary_metric in res.metrics
    assert all(v == pytest.approx(1.0, abs=1e-12) for v in res.metrics.values()), res.metrics


def test_crowdpose_ground_truth_scores_one_and_empty_splits_are_null(sample_dir):
    ann_path = sample_dir / ANN["crowdpose"]
    ann = json.loads(ann_path.read_text())
    # Both sample images are medium (0.2 <= crowdIndex < 0.8): easy and hard are empty.
    assert all(0.2 <= img["crowdIndex"] < 0.8 for img in ann["images"])
    res = evaluate("crowdpose", ann_path, _gt_as_predictions(ann))
    assert list(res.metrics) == list(CROWDPOSE_NAMES) + [PCK_NAME]
    assert SPECS["crowdpose"].location_metric in res.metrics
    assert res.metrics["AP(E)"] is None and res.metrics["AP(H)"] is None
    others = {k: v for k, v in res.metrics.items() if k not in ("AP(E)", "AP(H)")}
    assert all(v == pytest.approx(1.0, abs=1e-12) for v in others.values()), res.metrics


def test_mpii_ground_truth_scores_one(sample_dir):
    ann_path = sample_dir / ANN["mpii"]
    ann = json.loads(ann_path.read_text())
    res = evaluate("mpii", ann_path, _mpii_gt_predictions(ann))
    assert res.metrics == {k: 1.0 for k in ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle",
                                             "Mean", "Mean@0.1")}
    assert SPECS["mpii"].location_metric in res.metrics
    # joints_vis = 0 joints are not counted
    assert res.per_image["visible"].sum() == sum(sum(a["joints_vis"]) for a in ann)


# -- a known perturbation gives exactly the library's numbers ------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_coco_perturbed_equals_pycocotools(sample_dir, seed):
    ann_path = sample_dir / ANN["coco"]
    preds = _perturbed(json.loads(ann_path.read_text()), seed)
    stats, _ = _pycocotools_stats(ann_path, preds)
    res = evaluate("coco", ann_path, preds)
    _assert_same(res.metrics, COCO_NAMES, stats)
    assert 0.05 < res.metrics["AP"] < 0.95  # a real perturbation, not a trivial score
    n = len(res.per_image["image_ids"])
    assert score_subset(res.per_image, np.arange(n)) == pytest.approx(stats[0], abs=1e-9)


@pytest.mark.parametrize("seed", [0, 3])
def test_crowdpose_perturbed_equals_xtcocotools(sample_dir, seed):
    ann_path = sample_dir / ANN["crowdpose"]
    preds = _perturbed(json.loads(ann_path.read_text()), seed)
    stats = _xtcocotools_stats(ann_path, preds)
    res = evaluate("crowdpose", ann_path, preds)
    _assert_same(res.metrics, CROWDPOSE_NAMES, stats)
    assert 0.0 < res.metrics["AP"] < 1.0
    n = len(res.per_image["image_ids"])
    assert score_subset(res.per_image, np.arange(n)) == pytest.approx(stats[0], abs=1e-9)


def test_mpii_perturbed_equals_standard_arithmetic(sample_dir):
    ann_path = sample_dir / ANN["mpii"]
    ann = json.loads(ann_path.read_text())
    rng = np.random.default_rng(0)
    gt = np.array([a["joints"] for a in ann], dtype=np.float64)
    pred = gt + rng.normal(0.0, 12.0, size=gt.shape)
    preds = [{"index": i, "keypoints": np.concatenate([p, np.ones((16, 1))], 1).tolist()}
             for i, p in enumerate(pred)]
    res = evaluate("mpii", ann_path, preds)
    want05, want01 = _standard_pckh(pred, ann, 0.5), _standard_pckh(pred, ann, 0.1)
    for name, value in want05.items():
        assert res.metrics[name] == pytest.approx(value, abs=1e-9), name
    assert res.metrics["Mean@0.1"] == pytest.approx(want01["Mean"], abs=1e-9)
    assert 0.0 < res.metrics["Mean@0.1"] < res.metrics["Mean"] < 1.0
    assert score_subset(res.per_image, np.arange(len(ann))) == pytest.approx(res.metrics["Mean"], abs=1e-9)


# -- standard MPII PCKh: mpii_gt_val.mat -----------------------------------------------------------

def _mat_case(sample_dir: Path, tmp_path: Path):
    """The sample json, a .mat for it (its own head boxes; one joint the json labels is missing in
    the .mat) and perturbed predictions."""
    ann = json.loads((sample_dir / ANN["mpii"]).read_text())
    gt = np.array([a["joints"] for a in ann], dtype=np.float64)
    missing = np.array([a["joints_vis"] for a in ann]) == 0
    missing[0, 0] = True  # the .mat's visibility is the one the standard evaluation counts
    rng = np.random.default_rng(4)
    centre = 0.5 * (gt[:, 8] + gt[:, 9])
    half = rng.uniform(15.0, 40.0, size=(len(ann), 2))
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    mat = write_gt_mat(tmp_path / "mpii_gt_val.mat", gt, missing, boxes)
    pred = gt + rng.normal(0.0, 10.0, size=gt.shape)
    preds = [{"index": i, "keypoints": np.concatenate([p, np.ones((16, 1))], 1).tolist()}
             for i, p in enumerate(pred)]
    return ann, gt, ~missing, boxes, mat, pred, preds


def _by_hand_pckh(pred, gt, visible, boxes, thr):
    """Standard PCKh, written out: head size 0.6 x the box diagonal; Mean without pelvis and thorax."""
    size = 0.6 * np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    hit = (np.linalg.norm(pred - gt, axis=2) <= thr * size[:, None]) & visible
    keep = [j for j in range(16) if j not in (6, 7)]
    out = {"Mean": hit[:, keep].sum() / visible[:, keep].sum()}
    per_joint = hit.sum(0) / np.maximum(visible.sum(0), 1)
    for name, joints in SPECS["mpii"].pckh_groups.items():
        out[name] = float(np.mean(per_joint[list(joints)]))
    return out


def test_mpii_pckh_with_the_standard_mat_equals_a_by_hand_computation(sample_dir, tmp_path):
    ann, gt, visible, boxes, mat, pred, preds = _mat_case(sample_dir, tmp_path)
    res = evaluate("mpii", sample_dir / ANN["mpii"], preds, head_boxes=mat)
    assert res.details == {"head_size_source": "mat"}
    want05 = _by_hand_pckh(pred, gt, visible, boxes, 0.5)
    for name, value in want05.items():
        assert res.metrics[name] == pytest.approx(value, abs=1e-12), name
    assert res.metrics["Mean@0.1"] == pytest.approx(_by_hand_pckh(pred, gt, visible, boxes, 0.1)["Mean"], abs=1e-12)
    assert res.per_image["visible"].sum() == visible.sum()  # the .mat's jnt_missing, not joints_vis
    # without the .mat the head sizes are estimated from the joints: other numbers, and said so
    est = evaluate("mpii", sample_dir / ANN["mpii"], preds)
    assert est.details == {"head_size_source": "joints"} and est.metrics["Mean"] != res.metrics["Mean"]


def test_evaluate_command_takes_head_boxes(sample_dir, tmp_path, capsys):
    from harness.cli import main

    ann, gt, visible, boxes, mat, pred, preds = _mat_case(sample_dir, tmp_path)
    pred_file = tmp_path / "pred.json"
    pred_file.write_text(json.dumps(preds))
    args = ["evaluate", "--dataset", "mpii", "--ann", str(sample_dir / ANN["mpii"]), "--pred", str(pred_file)]
    assert main(args + ["--head-boxes", str(mat)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["Mean"] == pytest.approx(_by_hand_pckh(pred, gt, visible, boxes, 0.5)["Mean"])
    assert out.err == ""
    assert main(args) == 0
    assert "not the standard MPII evaluation" in capsys.readouterr().err
    assert main(["evaluate", "--dataset", "coco", "--ann", str(sample_dir / ANN["coco"]), "--pred", str(pred_file),
                 "--head-boxes", str(mat)]) == 2


def test_a_mat_of_other_annotations_is_a_one_line_error(sample_dir, tmp_path):
    from scipy.io import savemat

    ann, gt, visible, boxes, mat, pred, preds = _mat_case(sample_dir, tmp_path)
    reordered = write_gt_mat(tmp_path / "reordered.mat", gt[::-1], ~visible[::-1], boxes[::-1])
    fewer = write_gt_mat(tmp_path / "fewer.mat", gt[:3], ~visible[:3], boxes[:3])
    savemat(str(tmp_path / "nokeys.mat"), {"headboxes_src": boxes.reshape(-1, 2, 2).transpose(1, 2, 0)})
    (tmp_path / "garbage.mat").write_bytes(b"MATLAB 5.0 MAT-file, not really")
    for path, needle in ((reordered, "do not describe the same annotations"), (fewer, "3 head boxes"),
                         (tmp_path / "nokeys.mat", "lacks dataset_joints"), (tmp_path / "garbage.mat", ".mat"),
                         (tmp_path / "none.mat", "not found")):
        with pytest.raises(UserError) as info:
            evaluate("mpii", sample_dir / ANN["mpii"], preds, head_boxes=path)
        msg = str(info.value)
        assert msg.startswith(f"{path}: ") and needle in msg and "\n" not in msg, msg


def test_bbox_in_results_changes_nothing(sample_dir):
    """build_results adds a bbox (the keypoints' extent); pycocotools then takes the bbox branch
    of loadRes -- the numbers must not move."""
    ann_path = sample_dir / ANN["coco"]
    preds = _perturbed(json.loads(ann_path.read_text()), 2)
    with_box = copy.deepcopy(preds)
    for p in with_box:
        kp = np.asarray(p["keypoints"]).reshape(-1, 3)
        x0, y0, x1, y1 = kp[:, 0].min(), kp[:, 1].min(), kp[:, 0].max(), kp[:, 1].max()
        p["bbox"] = [x0, y0, x1 - x0, y1 - y0]
    assert evaluate("coco", ann_path, with_box).metrics == evaluate("coco", ann_path, preds).metrics


# -- harness evaluate -----------------------------------------------------------------------------

def test_evaluate_command_matches_library(sample_dir, tmp_path):
    coco_ann = sample_dir / ANN["coco"]
    preds = _perturbed(json.loads(coco_ann.read_text()), 5)
    pred_file = tmp_path / "coco_pred.json"
    pred_file.write_text(json.dumps(preds))
    out = evaluate_command("coco", str(coco_ann), str(pred_file))
    json.dumps(out)  # printable as one JSON object
    _assert_same(out, COCO_NAMES, _pycocotools_stats(coco_ann, preds)[0])

    crowd_ann = sample_dir / ANN["crowdpose"]
    preds = _perturbed(json.loads(crowd_ann.read_text()), 6)
    pred_file = tmp_path / "crowd_pred.json"
    pred_file.write_text(json.dumps(preds))
    out = evaluate_command("crowdpose", str(crowd_ann), str(pred_file))
    _assert_same(out, CROWDPOSE_NAMES, _xtcocotools_stats(crowd_ann, preds))


def test_evaluate_command_does_not_rescore_or_suppress(sample_dir, tmp_path):
    """Two identical detections stay two (no NMS): the duplicate is a false positive."""
    ann_path = sample_dir / ANN["coco"]
    preds = _gt_as_predictions(json.loads(ann_path.read_text()))
    dup = preds + [dict(preds[0], score=1.5)]  # ranked first, so its twin becomes an early FP
    pred_file = tmp_path / "dup.json"
    pred_file.write_text(json.dumps(dup))
    out = evaluate_command("coco", str(ann_path), str(pred_file))
    _assert_same(out, COCO_NAMES, _pycocotools_stats(ann_path, dup)[0])
    assert out["AP"] < 1.0 and out["AR"] == pytest.approx(1.0)


def test_empty_predictions_score_zero(sample_dir):
    res = evaluate("coco", sample_dir / ANN["coco"], [])
    assert res.metrics["AP"] == 0.0 and res.metrics["AR"] == 0.0
    assert len(res.per_image["dt_score"]) == 0


# -- bad files ------------------------------------------------------------------------------------

def _bad_cases(sample_dir: Path, tmp_path: Path):
    coco_ann = sample_dir / ANN["coco"]
    good = _gt_as_predictions(json.loads(coco_ann.read_text()))
    short = copy.deepcopy(good)
    short[0]["keypoints"] = short[0]["keypoints"][:-3]
    unknown = copy.deepcopy(good)
    unknown[0]["image_id"] = 123456789
    mpii_ann = sample_dir / ANN["mpii"]
    mpii_good = _mpii_gt_predictions(json.loads(mpii_ann.read_text()))
    return [
        ("coco", coco_ann, tmp_path / "missing.json", None, "not found"),
        ("coco", coco_ann, tmp_path / "garbage.json", "{not json", "not valid JSON"),
        ("coco", coco_ann, tmp_path / "dict.json", json.dumps({"a": 1}), "list"),
        ("coco", coco_ann, tmp_path / "short.json", json.dumps(short), "51"),
        ("coco", coco_ann, tmp_path / "unknown.json", json.dumps(unknown), "123456789"),
        ("coco", coco_ann, tmp_path / "noscore.json", json.dumps([{k: v for k, v in good[0].items()
                                                                  if k != "score"}]), "score"),
        ("crowdpose", sample_dir / ANN["crowdpose"], tmp_path / "coco17.json", json.dumps(good[:1]), "42"),
        ("mpii", mpii_ann, tmp_path / "range.json", json.dumps([dict(mpii_good[0], index=99)]), "99"),
        ("mpii", mpii_ann, tmp_path / "repeat.json", json.dumps([mpii_good[0], mpii_good[0]]), "repeats"),
        ("mpii", mpii_ann, tmp_path / "k15.json",
         json.dumps([dict(mpii_good[0], keypoints=mpii_good[0]["keypoints"][:15])]), "16"),
        ("mpii", mpii_ann, tmp_path / "cocoform.json", json.dumps(good), "index"),
    ]


def test_bad_prediction_files_are_one_line_user_errors(sample_dir, tmp_path):
    for kind, ann, pred, text, needle in _bad_cases(sample_dir, tmp_path):
        if text is not None:
            pred.write_text(text)
        with pytest.raises(UserError) as info:
            evaluate_command(kind, str(ann), str(pred))
        msg = str(info.value)
        assert msg.startswith(f"{pred}: "), msg
        assert needle in msg and "\n" not in msg, msg


def test_bad_annotation_files_are_one_line_user_errors(sample_dir, tmp_path):
    preds = tmp_path / "p.json"
    preds.write_text("[]")
    coco = json.loads((sample_dir / ANN["coco"]).read_text())
    del coco["annotations"][0]["iscrowd"]
    cases = [
        ("coco", tmp_path / "none.json", None, "not found"),
        ("coco", tmp_path / "list.json", "[]", "JSON object"),
        ("coco", tmp_path / "noiscrowd.json", json.dumps(coco), "iscrowd"),
        # a COCO file is not a CrowdPose file (17 joints, no crowdIndex)
        ("crowdpose", sample_dir / ANN["coco"], None, "crowdIndex"),
        ("mpii", sample_dir / ANN["coco"], None, "list"),
    ]
    for kind, ann, text, needle in cases:
        if text is not None:
            ann.write_text(text)
        with pytest.raises(UserError) as info:
            evaluate_command(kind, str(ann), str(preds))
        msg = str(info.value)
        assert msg.startswith(f"{ann}: ") and needle in msg and "\n" not in msg, msg
    with pytest.raises(UserError, match="unknown dataset kind"):
        evaluate_command("lsp", str(sample_dir / ANN["coco"]), str(preds))


# -- the numpy AP of the bootstrap reproduces COCOeval on subsets and repeats -------------------

def test_score_subset_matches_cocoeval_on_an_image_subset(sample_dir):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    ann_path = sample_dir / ANN["coco"]
    preds = _perturbed(json.loads(ann_path.read_text()), 0)
    per_image = evaluate("coco", ann_path, preds).per_image
    ids = per_image["image_ids"]
    for subset in ([0, 2], [1, 3], [0, 1, 3]):
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO(str(ann_path))
            ev = COCOeval(gt, gt.loadRes(copy.deepcopy(preds)), "keypoints")
            ev.params.imgIds = [int(ids[i]) for i in subset]
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        assert score_subset(per_image, np.array(subset)) == pytest.approx(ev.stats[0], abs=1e-9)


def test_score_subset_with_repeats_matches_cocoeval_on_a_duplicated_image(sample_dir, tmp_path):
    """A resample that draws an image twice equals COCOeval on a set where that image is copied."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    ann_path = sample_dir / ANN["coco"]
    ann = json.loads(ann_path.read_text())
    preds = _perturbed(ann, 1)
    per_image = evaluate("coco", ann_path, preds).per_image
    ids = [int(i) for i in per_image["image_ids"]]
    twice = ids[2]
    copy_id = 10 ** 9  # sorts after every real id, so COCOeval sees it last
    ann2 = copy.deepcopy(ann)
    ann2["images"].append(dict(next(i for i in ann["images"] if i["id"] == twice), id=copy_id))
    for a in ann["annotations"]:
        if a["image_id"] == twice:
            ann2["annotations"].append(dict(a, image_id=copy_id, id=a["id"] + 10 ** 8))
    preds2 = preds + [dict(p, image_id=copy_id) for p in preds if p["image_id"] == twice]
    path2 = tmp_path / "dup.json"
    path2.write_text(json.dumps(ann2))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path2))
        ev = COCOeval(gt, gt.loadRes(copy.deepcopy(preds2)), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    idx = np.array(list(range(len(ids))) + [2])
    assert score_subset(per_image, idx) == pytest.approx(ev.stats[0], abs=1e-9)
    assert score_subset(per_image, idx) != pytest.approx(score_subset(per_image, np.arange(len(ids))))


def test_build_results_round_trip_scores_one(sample_dir):
    """Ground-truth poses written through the trial's results step (rescoring, OKS-NMS) still score 1."""
    from harness.evaluation.results import build_results
    for kind in ("coco", "crowdpose"):
        ann_path = sample_dir / ANN[kind]
        ann = json.loads(ann_path.read_text())
        instances = []
        for n, a in enumerate(a for a in ann["annotations"] if a["num_keypoints"] > 0):
            kp = np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)
            kp[:, 2] = np.where(kp[:, 2] > 0, 0.9, 0.05)
            instances.append({"image_id": a["image_id"], "keypoints": kp, "box_score": 1.0,
                              "area": a["bbox"][2] * a["bbox"][3], "center": np.zeros(2),
                              "scale": np.ones(2), "index": n})
        results = build_results(instances, SPECS[kind])
        assert len(results) == len(instances)  # distinct people survive the NMS
        assert all(r["score"] == pytest.approx(0.9) for r in results)
        metrics = evaluate(kind, ann_path, results).metrics
        assert metrics["AP"] == pytest.approx(1.0) and metrics["AR"] == pytest.approx(1.0), kind
    ann_path = sample_dir / ANN["mpii"]
    ann = json.loads(ann_path.read_text())
    instances = [{"image_id": 0, "keypoints": np.c_[np.asarray(a["joints"]), np.ones(16)], "box_score": 1.0,
                  "area": 1.0, "center": np.zeros(2), "scale": np.ones(2), "index": i} for i, a in enumerate(ann)]
    assert evaluate("mpii", ann_path, build_results(instances, SPECS["mpii"])).metrics["Mean"] == 1.0


# -- box PCK and the evaluated-image restriction -------------------------------------------------

def test_box_pck_counts_shifted_joints_against_the_box_size(sample_dir):
    """Shift every predicted joint by 0.05 or 0.15 of its box's longer side: PCK@0.1 by hand."""
    ann_path = sample_dir / ANN["coco"]
    ann = json.loads(ann_path.read_text())
    people = [a for a in ann["annotations"] if a["num_keypoints"] > 0]
    preds = _gt_as_predictions(ann)  # one per person, in the same order
    rng = np.random.default_rng(3)
    correct = total = 0
    for a, p in zip(people, preds):
        kp = np.asarray(p["keypoints"], float).reshape(-1, 3)
        far = rng.random(len(kp)) < 0.4
        kp[:, 0] += np.where(far, 0.15, 0.05) * max(a["bbox"][2], a["bbox"][3])
        p["keypoints"] = kp.ravel().tolist()
        if not a.get("iscrowd", 0):
            vis = np.asarray(a["keypoints"]).reshape(-1, 3)[:, 2] > 0
            correct += int((~far & vis).sum())
            total += int(vis.sum())
    got = evaluate("coco", ann_path, preds).metrics[PCK_NAME]
    assert got == pytest.approx(correct / total) and 0 < got < 1


def test_image_ids_restrict_both_ap_and_pck(sample_dir):
    """Predictions for one image only: scored on that image they are perfect; on all, they are not."""
    ann_path = sample_dir / ANN["coco"]
    ann = json.loads(ann_path.read_text())
    first = ann["images"][0]["id"]
    preds = [p for p in _gt_as_predictions(ann) if p["image_id"] == first]
    whole = evaluate("coco", ann_path, preds).metrics
    only = evaluate("coco", ann_path, preds, image_ids=[first]).metrics
    assert only["AP"] == pytest.approx(1.0) and only[PCK_NAME] == pytest.approx(1.0)
    assert whole["AR"] < 1.0 and whole[PCK_NAME] < 1.0
