"""Evaluation pieces on hand-built inputs: rescoring, OKS-NMS, PCKh, response statistics, the
per-image file and the paired bootstrap."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from harness.data.specs import SPECS
from harness.errors import UserError
from harness.evaluation.evaluator import LOCATION_ONLY, evaluate, location_metrics
from harness.evaluation.oks_nms import oks, oks_nms
from harness.evaluation.pckh import head_sizes_from_joints, pckh_metrics
from harness.evaluation.per_image import (coco_ap, load_per_image, paired_bootstrap, save_per_image,
                                          score_subset)
from harness.evaluation.response import group_means, joint_responses
from harness.evaluation.results import build_results, rescore

COCO = SPECS["coco"]
MPII = SPECS["mpii"]


def _person(x0: float, y0: float, k: int = 17, score: float = 0.9) -> np.ndarray:
    kp = np.zeros((k, 3))
    kp[:, 0] = x0 + 10.0 * np.arange(k)
    kp[:, 1] = y0 + 5.0 * np.arange(k)
    kp[:, 2] = score
    return kp


def _inst(image_id, kp, box_score=1.0, area=10000.0, index=0):
    return {"image_id": image_id, "keypoints": kp, "box_score": box_score, "area": area,
            "center": np.zeros(2), "scale": np.ones(2), "index": index}


# -- rescoring and OKS-NMS ----------------------------------------------------------------------

def test_rescore_uses_only_keypoint_scores_above_0_2():
    scores = np.array([0.9, 0.1, 0.3, 0.2, 0.0])
    assert rescore(0.8, scores) == pytest.approx(0.8 * (0.9 + 0.3) / 2)  # 0.2 itself is not above
    assert rescore(0.8, np.array([0.2, 0.1])) == 0.0
    kp = _person(0, 0)
    kp[:, 2] = 0.1
    kp[:3, 2] = [0.6, 0.7, 0.8]
    (res,) = build_results([_inst(1, kp, box_score=0.5)], COCO)
    assert res["score"] == pytest.approx(0.5 * 0.7)


def test_oks_matches_the_formula():
    sig = np.array(COCO.sigmas)
    a, b = _person(0, 0), _person(0, 0)
    b[3, :2] += [3.0, 4.0]  # one joint 5 px away
    val = oks(a, b[None], 400.0, np.array([600.0]), sig)[0]
    want = (16 + math.exp(-25.0 / (2 * 500.0 * (2 * sig[3]) ** 2))) / 17
    assert val == pytest.approx(want, rel=1e-12)
    assert oks(a, a[None], 400.0, np.array([400.0]), sig)[0] == pytest.approx(1.0)


def test_oks_nms_removes_a_duplicate_and_keeps_a_distinct_person():
    sig = np.array(COCO.sigmas)
    kps = np.stack([_person(100, 100), _person(101, 100.5), _person(400, 50)])
    keep = oks_nms(kps, np.array([0.6, 0.9, 0.5]), np.full(3, 10000.0), sig, 0.9)
    assert keep == [1, 2]  # best first; the near-copy of 1 (index 0) is gone
    instances = [_inst(7, kps[0], box_score=0.6), _inst(7, kps[1], box_score=0.9), _inst(7, kps[2], box_score=0.5),
                 _inst(8, kps[0], box_score=0.3)]  # same pose in another image: not suppressed
    res = build_results(instances, COCO)
    assert [(r["image_id"], round(r["score"], 6)) for r in res] == [(7, 0.81), (7, 0.45), (8, 0.27)]
    x = kps[1]
    assert res[0]["bbox"] == pytest.approx([x[:, 0].min(), x[:, 1].min(), np.ptp(x[:, 0]), np.ptp(x[:, 1])])
    assert res[0]["keypoints"] == pytest.approx(x.reshape(-1).tolist()) and res[0]["category_id"] == 1


def test_build_results_mpii_list_form_and_bad_shapes():
    kp = _person(0, 0, k=16)
    (res,) = build_results([_inst(0, kp, index=3)], MPII)
    assert res == {"index": 3, "keypoints": kp.tolist()}
    with pytest.raises(ValueError, match="shape"):
        build_results([_inst(0, _person(0, 0, k=16))], COCO)


# -- PCKh -------------------------------------------------------------------------------------------

def _mpii_file(tmp_path, joints_list, vis_list):
    ann = [{"image": f"{i}.jpg", "center": [0, 0], "scale": 1.0, "joints": j.tolist(), "joints_vis": v}
           for i, (j, v) in enumerate(zip(joints_list, vis_list))]
    path = tmp_path / "mpii.json"
    path.write_text(json.dumps(ann))
    return path


def test_pckh_by_hand(tmp_path):
    """Head: top (0,0), neck (0,10) -> derived head size 0.6*sqrt(2)*10 = 8.485 px; thr 0.5 -> 4.243 px."""
    gt = np.zeros((16, 2))
    gt[:, 0] = 100 + 10 * np.arange(16)
    gt[9], gt[8] = (0, 0), (0, 10)
    gt2 = gt.copy()
    vis2 = [1] * 16
    vis2[15] = 0  # left wrist unlabelled in the 2nd person
    path = _mpii_file(tmp_path, [gt, gt2], [[1] * 16, vis2])
    p1, p2 = gt.copy(), gt2.copy()
    p1[12, 0] += 4.2   # right shoulder: 0.495 head sizes -> correct at 0.5, wrong at 0.1
    p1[13, 1] += 4.3   # left shoulder: 0.507 -> wrong
    p1[10, 0] += 0.8   # right wrist: 0.094 -> correct at 0.1 too
    p1[6] += 50        # pelvis wrong: not in Mean
    p2[0, 0] += 30     # right ankle wrong
    p2[15] += 99       # invisible joint: never counted
    preds = [{"index": 1, "keypoints": np.c_[p2, np.ones(16)].tolist()},
             {"index": 0, "keypoints": np.c_[p1, np.ones(16)].tolist()}]
    m = evaluate("mpii", path, preds).metrics
    assert m["Shoulder"] == pytest.approx((1.0 + 0.5) / 2)      # right 2/2, left 1/2
    assert m["Ankle"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["Wrist"] == 1.0 and m["Head"] == 1.0
    assert m["Mean"] == pytest.approx((27 - 2) / 27)             # 14 + 13 counted joints, 2 wrong
    # at 0.1 (0.849 px) only exact joints and the 0.8 px wrist pass; the 4.2 px shoulder fails too
    assert m["Mean@0.1"] == pytest.approx((27 - 3) / 27)


def test_pckh_head_boxes_override_and_missing_head():
    joints = np.zeros((2, 16, 2))
    joints[:, 8] = (0, 10)
    vis = np.ones((2, 16), bool)
    vis[1, 9] = False
    size = head_sizes_from_joints(joints, vis, MPII.evaluator.head)  # head_top (9), upper_neck (8)
    assert size[0] == pytest.approx(0.6 * math.sqrt(2) * 10) and np.isnan(size[1])
    groups = MPII.pckh_groups
    none = pckh_metrics(np.zeros((1, 16), bool), np.zeros((1, 16), bool), np.zeros((1, 16), bool), groups,
                        MPII.evaluator.mean_joints(16))
    assert all(v is None for v in none.values())


def test_pckh_with_given_head_boxes(tmp_path):
    from harness.data.mpii_mat import MpiiGroundTruth

    gt = np.zeros((16, 2))
    gt[:, 0] = np.arange(16) * 20.0
    path = _mpii_file(tmp_path, [gt], [[1] * 16])
    pred = gt.copy()
    pred[:, 1] += 14.0  # 14 px off: head size 0.6 * 50 = 30 -> 0.467 (correct); derived size -> NaN

    def mat(boxes):
        return MpiiGroundTruth("gt.mat", np.array(boxes, float), np.repeat(gt[None], len(boxes), 0),
                               np.ones((len(boxes), 16), bool))

    preds = [{"index": 0, "keypoints": np.c_[pred, np.ones(16)].tolist()}]
    assert evaluate("mpii", path, preds, head_boxes=mat([[0, 0, 30, 40]])).metrics["Mean"] == 1.0
    smaller = evaluate("mpii", path, preds, head_boxes=mat([[0, 0, 15, 20]])).metrics  # size 15
    assert smaller["Mean"] == 0.0
    with pytest.raises(UserError, match="2 head boxes for the 1 annotations"):
        evaluate("mpii", path, preds, head_boxes=mat([[0, 0, 30, 40]] * 2))
    # the location metric alone says which head sizes it used, as evaluate does (it said nothing:
    # the report then called a location-only standard PCKh non-standard)
    for boxes in (mat([[0, 0, 30, 40]]), None):
        full, alone = evaluate("mpii", path, preds, head_boxes=boxes), location_metrics("mpii", path, preds, head_boxes=boxes)
        assert alone.details == {**full.details, "metrics": LOCATION_ONLY}
        assert alone.metrics == {"Mean": full.metrics["Mean"]}
    assert location_metrics("mpii", path, preds).details["head_size_source"] == "joints"


def test_the_location_only_note_names_what_the_dataset_loses():
    """COCO's location-only results lose their primary metric (OKS AP: empty cells); MPII's primary
    metric is its location metric (PCKh Mean), so its note does not say its cells are empty."""
    from types import SimpleNamespace
    from harness.report.notes import dataset_notes

    def item(kind: str, located: bool) -> SimpleNamespace:
        return SimpleNamespace(kind=kind, completed=True,
                               evaluation={"metrics": LOCATION_ONLY, "head_size_source": "mat"} if located else
                               {"head_size_source": "mat"})

    coco = dataset_notes("coco", [item("coco", True), item("coco", False)])
    assert len(coco) == 1 and coco[0].startswith("1 of 2 results here") and "primary-metric cells are empty" in coco[0]
    mpii = dataset_notes("mpii", [item("mpii", True)])
    assert len(mpii) == 1 and "they carry Mean and none of the dataset's other metrics" in mpii[0]
    assert "empty" not in mpii[0] and "AP" not in mpii[0]


# -- response statistics ----------------------------------------------------------------------------

def test_joint_responses_on_a_hand_built_map():
    # input 64x48 (h, w) -> 16x12 grid, stride 4; grid point j sits at pixel 4j
    resp = np.zeros((1, 5, 16, 12))
    resp[0, 0, 5, 3] = 2.0     # peak
    resp[0, 0, 7, 3] = 1.0     # half the peak
    resp[0, 1, 5, 3] = 2.0
    resp[0, 2, 0, 11] = 4.0
    resp[0, 2, 0, 10] = 1.0
    resp[0, 3] = -1.0          # nothing positive
    resp[0, 4, 2, 2] = 3.0
    joints = np.array([[
        [12.0, 28.0, 2],       # cell (row 7, col 3): window rows 6..8 misses the peak -> 0.5
        [12.0, 25.0, 1],       # y/4+0.5 = 6.75 -> row 6: window rows 5..7 holds the peak -> 1.0
        [47.0, 1.0, 2],        # x -> col 12 (beyond the grid): window is col 11 only -> 1.0
        [12.0, 28.0, 2],       # no positive response -> 0
        [8.0, 8.0, 0],         # not visible -> NaN
    ]])
    out = joint_responses(resp, joints, (64, 48))
    assert out.shape == (1, 5)
    np.testing.assert_allclose(out[0, :4], [0.5, 1.0, 1.0, 0.0])
    assert np.isnan(out[0, 4])
    outside = joints.copy()
    outside[0, 1, 0] = 48.0  # x == width: outside the crop
    assert np.isnan(joint_responses(resp, outside, (64, 48))[0, 1])
    resp2 = resp.copy()
    resp2[0, 2, 0, 11] = 0.5  # the window at col 11 now holds 0.5 of the 1.0 peak at col 10 -> 0.5
    assert joint_responses(resp2, joints, (64, 48))[0, 2] == pytest.approx(0.5)


def test_group_means():
    spec = SPECS["crowdpose"]
    vals = np.full((3, 14), np.nan)
    vals[:, 0] = [0.2, 0.4, np.nan]   # left shoulder
    vals[0, 1] = 0.9                  # right shoulder
    vals[1, 12] = 0.7                 # top_head
    g = group_means(vals, spec)
    assert list(g) == list(spec.response_groups)
    assert g["Sho"] == pytest.approx((0.2 + 0.4 + 0.9) / 3)
    assert g["Head"] == pytest.approx(0.7)
    assert g["Ank"] is None
    assert all(v is None for v in group_means(np.zeros((0, 14)), spec).values())


# -- per-image file and paired bootstrap -----------------------------------------------------------

def _synthetic_per_image(seed: int, n: int = 30, better: float = 0.0) -> dict:
    """COCO-kind per-image arrays: 2 gts per image, 3 detections, hit rate rising with `better`."""
    rng = np.random.default_rng(seed)
    t = 10
    d_per = 3
    hit = rng.uniform(size=(t, n * d_per)) < (0.5 + better) * np.linspace(1.0, 0.4, t)[:, None]
    return {"kind": np.array("coco"), "image_ids": np.arange(100, 100 + n),
            "dt_image": np.repeat(np.arange(n), d_per), "dt_score": rng.uniform(size=n * d_per).round(2),
            "dt_matched": hit, "dt_ignore": np.zeros((t, n * d_per), bool),
            "gt_count": np.full(n, 2), "iou_thrs": np.linspace(0.5, 0.95, t)}


def test_per_image_round_trip(tmp_path):
    pi = _synthetic_per_image(0)
    path = save_per_image(tmp_path / "sub" / "per_image.npz", pi)
    back = load_per_image(path)
    assert set(back) == set(pi) and str(back["kind"]) == "coco"
    for k in pi:
        np.testing.assert_array_equal(back[k], pi[k])
    assert score_subset(back, np.arange(30)) == score_subset(pi, np.arange(30))
    with pytest.raises(UserError, match="not found"):
        load_per_image(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_text("x")
    with pytest.raises(UserError, match="bad.npz"):
        load_per_image(tmp_path / "bad.npz")


def test_coco_ap_edge_cases():
    pi = _synthetic_per_image(1, n=4)
    pi["gt_count"] = np.array([0, 0, 2, 2])
    assert math.isnan(coco_ap(pi, np.array([0, 1])))  # no ground truth drawn: undefined
    perfect = dict(pi, dt_matched=np.ones_like(pi["dt_matched"]), gt_count=np.array([3, 3, 3, 3]))
    assert coco_ap(perfect, np.arange(4)) == pytest.approx(1.0)


def test_paired_bootstrap():
    a, b = _synthetic_per_image(2), _synthetic_per_image(3, better=0.3)
    delta, lo, hi = paired_bootstrap(a, b, n=200, seed=0)
    assert delta == pytest.approx(score_subset(b, np.arange(30)) - score_subset(a, np.arange(30)))
    assert lo < delta < hi and delta > 0
    assert paired_bootstrap(a, b, n=200, seed=0) == (delta, lo, hi)          # seeded
    assert paired_bootstrap(a, a, n=50, seed=1) == (0.0, 0.0, 0.0)           # same run: no difference
    with pytest.raises(ValueError, match="same images"):
        paired_bootstrap(a, dict(b, image_ids=b["image_ids"] + 1))
    mp = {"kind": np.array("mpii"), "image_ids": np.arange(3), "correct": np.ones((3, 16), bool),
          "correct01": np.ones((3, 16), bool), "visible": np.ones((3, 16), bool)}
    with pytest.raises(ValueError, match="kinds differ"):
        paired_bootstrap(a, mp)
    # a location-only evaluation (scripts/gpu_seeds.py) has no primary-metric arrays: a ValueError,
    # which the report's row intervals turn into a "no interval" note, not a crash
    located = {"image_ids": a["image_ids"], "loc_correct": np.ones(30), "loc_visible": np.ones(30)}
    with pytest.raises(ValueError, match="location-only"):
        paired_bootstrap(a, located)
