"""The localisation ladder's figures computed another way on hand-made inputs: keypoint error
categories (inversion, swap, good = PCK), read-outs of hand-set class maps, classification mAP
against scikit-learn, and the ladder in a tiny trial's metrics.json."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from harness.data.specs import SPECS
from script_loading import load_script
from harness.evaluation.evaluator import evaluate, location_metrics
from harness.evaluation.classification import classification_metrics
from harness.evaluation.error_categories import CATEGORIES, MatchedJoints, categorise, summarise
from harness.evaluation.evaluator import PCK_NAME
from harness.trial.readouts import product, readout_maps
from models.decode import decode_responses

COCO = SPECS["coco"]
L_WRIST, R_WRIST, NOSE = 9, 10, 0



def _script(name: str, folder: str, filename: str):
    """A script under experiments/<folder>/ loaded by path (`script_loading.load_script`)."""
    return load_script(name, Path(__file__).resolve().parents[1] / "experiments" / folder / filename)

def _two_people() -> MatchedJoints:
    """Two people side by side in one image; every joint labelled; box side 100 (t = 10 px)."""
    k = 17
    a = np.stack([np.arange(k) * 3.0, np.arange(k) * 5.0], axis=1) + [100.0, 50.0]
    b = a + [60.0, 0.0]
    a[L_WRIST], a[R_WRIST] = [100.0, 200.0], [160.0, 200.0]  # wrists 60 px apart
    b[L_WRIST], b[R_WRIST] = [220.0, 200.0], [280.0, 200.0]
    gt = np.stack([a, b])
    on = np.ones((2, k), bool)
    return MatchedJoints(gt=gt, labelled=on, visible=on.copy(), norm=np.array([100.0, 100.0]),
                         image=np.array([7, 7]), pred=gt.copy())


def test_error_categories_by_hand():
    m = _two_people()
    pred = m.gt.copy()
    pred[0, L_WRIST] = m.gt[0, L_WRIST] + [3.0, 4.0]  # 5 px: good (t = 10)
    pred[0, R_WRIST] = m.gt[0, L_WRIST] + [0.0, 2.0]  # on its own other-side joint: inversion
    pred[0, NOSE] = m.gt[0, NOSE] + [0.0, 15.0]  # 15 px: jitter (<= 2t)
    pred[1, L_WRIST] = m.gt[0, R_WRIST] + [1.0, 0.0]  # on the other person's other-side joint: swap
    pred[1, R_WRIST] = m.gt[0, R_WRIST] + [0.0, 1.0]  # on the other person's same joint: swap
    pred[1, NOSE] = [0.0, 0.0]  # nowhere near anything: miss
    m.pred = pred
    codes = categorise(m, 0.1, COCO.flip_pairs)
    name = {i: c for i, c in enumerate(CATEGORIES)}
    assert name[codes[0, L_WRIST]] == "good"
    assert name[codes[0, R_WRIST]] == "inversion"
    assert name[codes[0, NOSE]] == "jitter"
    assert name[codes[1, L_WRIST]] == "swap" and name[codes[1, R_WRIST]] == "swap"
    assert name[codes[1, NOSE]] == "miss"
    # the nose has no other side: put it on the other person's nose -> swap, never inversion
    m.pred[1, NOSE] = m.gt[0, NOSE]
    assert name[categorise(m, 0.1, COCO.flip_pairs)[1, NOSE]] == "swap"
    # alone in its image, the same prediction is a miss (no one to swap with)
    m.image = np.array([7, 8])
    assert name[categorise(m, 0.1, COCO.flip_pairs)[1, NOSE]] == "miss"


def test_the_first_category_that_applies_wins_and_invisible_joints_are_not_counted():
    m = _two_people()
    m.gt[0, R_WRIST] = m.gt[0, L_WRIST] + [12.0, 0.0]  # the two wrists 12 px apart
    m.pred = m.gt.copy()
    m.pred[0, L_WRIST] = m.gt[0, L_WRIST] + [14.0, 0.0]  # 14 px from own (jitter), 2 px from partner
    m.visible[1, :] = False
    codes = categorise(m, 0.1, COCO.flip_pairs)
    assert CATEGORIES[codes[0, L_WRIST]] == "jitter"  # jitter comes before inversion
    assert (codes[1] == -1).all()
    summary = summarise(codes, COCO.joints)
    assert sum(summary["overall"].values()) == pytest.approx(1.0)
    assert summary["overall"]["good"] == pytest.approx(16 / 17)
    assert summary["joints"]["left_wrist"]["jitter"] == 1.0


def _coco_file(tmp_path, people: list[np.ndarray], images: list[int]):
    anns = []
    for i, (kp, img) in enumerate(zip(people, images)):
        x0, y0 = kp[:, 0].min(), kp[:, 1].min()
        w, h = kp[:, 0].max() - x0, kp[:, 1].max() - y0
        anns.append({"id": i + 1, "image_id": img, "category_id": 1, "iscrowd": 0, "area": float(w * h),
                     "bbox": [float(x0), float(y0), float(w), float(h)], "num_keypoints": int((kp[:, 2] > 0).sum()),
                     "keypoints": kp.ravel().tolist()})
    doc = {"images": [{"id": i, "file_name": f"{i}.jpg", "height": 480, "width": 640} for i in sorted(set(images))],
           "annotations": anns,
           "categories": [{"id": 1, "name": "person", "keypoints": list(COCO.joints), "skeleton": []}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(doc))
    return path


def test_good_equals_box_pck_and_per_image_counts_add_up(tmp_path):
    rng = np.random.default_rng(0)
    people, images = [], []
    for i in range(12):
        kp = np.zeros((17, 3))
        kp[:, 0] = rng.uniform(50, 550, 17)
        kp[:, 1] = rng.uniform(50, 400, 17)
        kp[:, 2] = rng.choice([0, 1, 2], 17, p=[0.2, 0.2, 0.6])
        people.append(kp)
        images.append(1 + i // 3)
    ann = _coco_file(tmp_path, people, images)
    preds = []
    for kp, img in zip(people, images):
        p = kp.copy()
        p[:, :2] += rng.normal(0, 25, (17, 2))
        p[:, 2] = 1.0
        preds.append({"image_id": img, "category_id": 1, "keypoints": p.ravel().tolist(), "score": 0.9})
    ev = evaluate("coco", ann, preds)
    pck = ev.metrics[PCK_NAME]
    assert 0.05 < pck < 0.95
    assert ev.errors["overall"]["good"] == pytest.approx(pck, abs=1e-12)
    assert sum(ev.errors["overall"].values()) == pytest.approx(1.0)
    loc = location_metrics("coco", ann, preds)
    assert loc.metrics == {PCK_NAME: pytest.approx(pck, abs=1e-12)}
    per = ev.per_image
    for key in ("image_ids", "loc_correct", "loc_visible"):
        assert np.array_equal(loc.per_image[key], per[key])
    assert per["loc_visible"].sum() == sum(int((kp[:, 2] > 0).sum()) for kp in people)
    assert per["loc_correct"].sum() / per["loc_visible"].sum() == pytest.approx(pck, abs=1e-12)
    # only two images: the counts restrict with them, as the metric does
    only = evaluate("coco", ann, preds, image_ids=[1, 2])
    assert only.metrics[PCK_NAME] == pytest.approx(
        per["loc_correct"][:2].sum() / per["loc_visible"][:2].sum(), abs=1e-12)


def test_a_hand_set_class_map_reads_out_at_its_peak_even_when_all_negative():
    """Class maps on the stride-16 grid of a 64 x 48 crop (4 x 3 cells): the cams read-out on the
    stride-4 response grid decodes at the peak's pixel, with or without a positive value."""
    b, k = 1, 2
    class_maps = torch.full((b, k, 4, 3), -3.0)
    class_maps[0, 0, 2, 1] = 4.0  # pixel (16, 32)
    class_maps[0, 1] -= 10.0
    class_maps[0, 1, 1, 2] = -1.0  # all negative; peak at pixel (32, 16)
    responses = torch.rand(b, k, 16, 12, generator=torch.Generator().manual_seed(0))
    out = {"class_maps": class_maps, "responses": responses}
    maps = readout_maps(out, None, [0, 1], cam_stride=16, width=48)
    assert maps["cams"].shape == responses.shape
    assert [int(i) for i in maps["cams"][0].flatten(1).argmax(dim=1)] == [8 * 12 + 4, 4 * 12 + 8]
    kp = decode_responses(maps["cams"], (64, 48))
    # at the peak's pixel, up to the decoder's quarter-cell shift (1 px on the stride-4 grid)
    assert np.abs(kp[0, :, :2].numpy() - [[16.0, 32.0], [32.0, 16.0]]).max() <= 1.0



def test_the_flip_test_brings_a_mirrored_map_back_onto_the_original_joint():
    """Ground-truth heatmaps of a crop and of its mirror (joints x -> W - 1 - x, left/right
    swapped, as the data layer flips): averaged by the flip test, they decode where the joints
    are. Reversing the columns alone is 3 px off and moved the average 1.5 px."""
    from harness.data.targets import gaussian_heatmaps

    height, width = 64, 48
    perm = COCO.flip_permutation()
    rng = np.random.default_rng(2)
    joints = np.zeros((17, 3))
    joints[:, 0] = rng.uniform(6, width - 7, 17)
    joints[:, 1] = rng.uniform(6, height - 7, 17)
    joints[:, 2] = 2
    mirrored = joints.copy()
    mirrored[:, 0] = width - 1 - joints[:, 0]
    mirrored = mirrored[perm]
    on = np.ones(17, np.float32)
    maps = torch.from_numpy(gaussian_heatmaps(joints, on, (height, width), 2.0))[None]
    maps_m = torch.from_numpy(gaussian_heatmaps(mirrored, on, (height, width), 2.0))[None]
    out = {"responses": maps, "class_maps": torch.zeros(1, 17, 4, 3)}
    back = readout_maps(out, {"responses": maps_m, "class_maps": torch.zeros(1, 17, 4, 3)}, perm, 16, width)
    alone = decode_responses(maps, (height, width))[0, :, :2].numpy()
    both = decode_responses(back["responses"], (height, width))[0, :, :2].numpy()
    assert np.abs(both - alone).max() <= 0.5  # the decoder's quarter-cell step is 1 px
    plain = 0.5 * (maps + torch.flip(maps_m, dims=[3])[:, perm])  # reversing the columns only
    off = decode_responses(plain, (height, width))[0, :, :2].numpy()
    assert (alone[:, 0] - off[:, 0]).mean() > 0.9  # pulled to the left


def test_product_is_max_normalised_responses_times_min_max_scaled_cams():
    g = torch.Generator().manual_seed(1)
    responses, cams = torch.rand(2, 3, 5, 4, generator=g), torch.randn(2, 3, 5, 4, generator=g)
    got = product(responses, cams)
    for i in range(2):
        for j in range(3):
            r, c = responses[i, j], cams[i, j]
            want = (r / r.max()) * (c - c.min()) / (c.max() - c.min())
            assert torch.allclose(got[i, j], want, atol=1e-6)
    flat = product(responses, torch.ones(2, 3, 5, 4))
    assert torch.equal(flat, torch.zeros_like(flat))  # a flat CAM localises nothing


def test_classification_map_against_scikit_learn_and_chance_levels_by_hand():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(5)
    n, k = 60, 6
    labels = (rng.random((n, k)) < [0.2, 0.5, 0.8, 0.9, 1.0, 0.0]).astype(float)
    probs = np.clip(labels * 0.3 + rng.random((n, k)) * 0.7, 0, 1)
    got = classification_metrics(labels, probs)
    scored = [0, 1, 2, 3]  # joints 4 (all visible) and 5 (never) have no precision-recall curve
    assert got["joints_scored"] == 4
    assert got["mAP"] == pytest.approx(average_precision_score(labels[:, scored], probs[:, scored], average="macro"))
    assert got["chance_mAP"] == pytest.approx(labels[:, scored].mean())
    assert got["accuracy"] == pytest.approx(((probs >= 0.5) == (labels > 0.5)).mean())
    majority = [max(labels[:, j].mean(), 1 - labels[:, j].mean()) for j in range(k)]
    assert got["chance_accuracy"] == pytest.approx(np.mean(majority))
    assert got["gain"] == pytest.approx((got["mAP"] - got["chance_mAP"]) / (1 - got["chance_mAP"]))
    # a perfect ranking has AP 1 and gain 1; a by-hand AP on a tiny case pins the definition
    assert classification_metrics(labels[:, scored], labels[:, scored])["gain"] == pytest.approx(1.0)
    tiny = classification_metrics(np.array([[1.0], [0.0], [1.0]]), np.array([[0.9], [0.8], [0.1]]))
    assert tiny["mAP"] == pytest.approx((1 / 1 + 2 / 3) / 2)  # precision at each positive, averaged


DIAGNOSTICS = {"attention_entropy", "uniform_fraction", "prototype_cos", "part_feature_cos",
               "response_cam_agreement", "response_cam_agreement_shuffled", "decoder_weight_norm"}


def test_every_trial_records_the_ladder(tmp_path, twin_cache):
    from tiny import tiny_config

    from harness.trial import run_trial

    cfg = tiny_config("coco", epochs=2)
    cfg.schedule.eval_every = 1
    r = run_trial(cfg, tmp_path / "t", twin_cache=twin_cache)
    saved = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert saved["classification"] == json.loads(json.dumps(r["classification"]))
    assert set(saved["classification"]) == {"cnn", "encoder", "decoder"}
    for head in saved["classification"].values():
        assert set(head) == {"mAP", "accuracy", "chance_mAP", "chance_accuracy", "gain", "joints_scored"}
        assert 0 <= head["chance_mAP"] <= 1 and 0 <= head["mAP"] <= 1
    assert set(saved["readouts"]) == {"responses", "cams", "product", "token_scores"}
    assert saved["readouts"]["responses"] == {PCK_NAME: saved["metrics"][PCK_NAME]}  # the paper's output
    assert saved["errors"]["overall"]["good"] == pytest.approx(saved["metrics"][PCK_NAME], abs=1e-12)
    assert sum(saved["errors"]["overall"].values()) == pytest.approx(1.0)
    assert set(saved["errors"]["joints"]) == set(COCO.joints)
    # both epochs were evaluated: the location metric and the ladder are in the curve
    for row in saved["curve"]:
        assert PCK_NAME in row["val"] and set(row["ladder"]["readouts"]) == {"responses", "cams", "product",
                                                                             "token_scores"}
        assert set(row["diagnostics"]) == DIAGNOSTICS
    assert saved["curve"][-1]["val"][PCK_NAME] == saved["metrics"][PCK_NAME]
    per = np.load(tmp_path / "t" / "per_image.npz")
    assert per["loc_correct"].sum() / per["loc_visible"].sum() == pytest.approx(saved["metrics"][PCK_NAME])
    # why link 3 fails: every diagnostic recorded, in its range; the decoder's norm computed another way
    d = saved["diagnostics"]
    assert set(d) == DIAGNOSTICS and saved["curve"][-1]["diagnostics"] == d
    for key in DIAGNOSTICS - {"decoder_weight_norm"}:
        assert 0.0 <= d[key] <= 1.0, key
    state = torch.load(tmp_path / "t" / "checkpoint.pt", weights_only=True)["model"]
    decoder = torch.cat([v.flatten().float() for k, v in state.items() if k.startswith("decoder.")])
    assert d["decoder_weight_norm"] == pytest.approx(float(torch.linalg.norm(decoder)), rel=1e-5)
    # the readings as the trial read them: every literal choice
    assert {r["tag"] for r in saved["readings"].values()} == {"literal"}
    for name in ("cams", "product", "token_scores"):
        counts = per[f"{name}_loc_correct"]
        assert counts.sum() / per["loc_visible"].sum() == pytest.approx(saved["readouts"][name][PCK_NAME])


def test_location_bootstrap_against_a_by_hand_resample():
    from harness.evaluation.per_image import location_vs_reference

    rng = np.random.default_rng(4)
    n_img = 40
    visible = rng.integers(0, 15, n_img)
    seeds = np.stack([rng.binomial(visible, 0.6) for _ in range(3)])  # three seeds of one row
    ref = rng.binomial(visible, 0.3)
    point, lo, hi = location_vs_reference(seeds, ref, visible, n=1, seed=11)
    assert point == pytest.approx(seeds.mean(axis=0).sum() / visible.sum() - ref.sum() / visible.sum())
    idx = np.random.default_rng(11).integers(0, n_img, size=(1, n_img))[0]  # the one resample, by hand
    by_hand = (seeds.mean(axis=0)[idx].sum() - ref[idx].sum()) / visible[idx].sum()
    assert lo == pytest.approx(by_hand) and hi == pytest.approx(by_hand)
    point, lo, hi = location_vs_reference(seeds, ref, visible, n=2000, seed=0)
    assert lo < point < hi and lo > 0  # a row 30 points above the reference on 40 images
    # the same row against itself: a zero difference on every resample
    assert location_vs_reference(ref, ref, visible, n=200) == (0.0, 0.0, 0.0)


def test_weight_norms_groups_layers_and_matches_the_norm_of_all_weights_together():
    """experiments/ladder/weight_norms.py: one group per module across layer numbers; its norm is
    the norm of every weight in it, concatenated (computed another way with torch.cat)."""

    module = _script("weight_norms", "ladder", "weight_norms.py")
    g = torch.Generator().manual_seed(0)
    state = {f"decoder.layers.{i}.q_proj.{p}": torch.randn(4, 4 if p == "weight" else 1, generator=g)
             for i in range(3) for p in ("weight", "bias")}
    state["decoder.layers.0.q_proj.num_batches_tracked"] = torch.tensor(7)  # not a weight: left out
    state["query_embed"] = torch.full((2, 3), -2.0)
    norms = module.module_norms(state)
    assert set(norms) == {"decoder.layers.*.q_proj", "query_embed"}
    together = torch.cat([v.flatten() for k, v in state.items() if k.startswith("decoder") and v.dtype.is_floating_point])
    assert abs(norms["decoder.layers.*.q_proj"][0] - float(torch.linalg.norm(together))) < 1e-5
    assert abs(norms["decoder.layers.*.q_proj"][1] - float(together.abs().max())) < 1e-6
    assert norms["query_embed"] == (pytest.approx(24 ** 0.5), 2.0)


def test_readings_versus_pairs_two_trials_on_the_same_images_and_refuses_different_ones(tmp_path):
    """experiments/readings/versus.py: B - A per read-out is the difference of the summed correct
    counts over the summed visible ones (computed here by hand), the interval holds it, swapping the
    trials negates it, and trials scored on different images are refused (exit 2, one line)."""

    module = _script("versus", "readings", "versus.py")
    rng = np.random.default_rng(3)
    ids, visible = np.arange(50), rng.integers(1, 15, size=50)
    runs = {}
    for name in ("a", "b", "other"):
        folder = tmp_path / name
        folder.mkdir()
        counts = {key: rng.integers(0, visible + 1) for key in ("loc_correct", "cams_loc_correct")}
        np.savez(folder / "per_image.npz", image_ids=ids + (100 if name == "other" else 0),
                 loc_visible=visible, **counts)
        runs[name] = (folder, counts)
    (a, ca), (b, cb) = runs["a"], runs["b"]
    rows = {name: (point, lo, hi) for name, point, lo, hi in module.compare(a, b)}
    assert set(rows) == {"responses", "cams"}  # only the read-outs both recorded
    for name, key in (("responses", "loc_correct"), ("cams", "cams_loc_correct")):
        point, lo, hi = rows[name]
        assert point == pytest.approx((cb[key].sum() - ca[key].sum()) / visible.sum())
        assert lo <= point <= hi
        assert dict((n, p) for n, p, *_ in module.compare(b, a))[name] == pytest.approx(-point)
    with pytest.raises(ValueError, match="different validation images"):
        module.compare(a, runs["other"][0])
    assert module.main([str(a), str(tmp_path / "missing")]) == 2


def test_readings_seeds_gaps_are_versus_points_and_their_t_interval_is_the_textbook_one(tmp_path, capsys):
    """experiments/readings/seeds.py: each seed's gap is versus.py's point, the mean over 3 seeds
    and its interval are mean +- t(0.975, 2 df) s / sqrt(3) with the quantile written out
    (4.3027), each row's figure is its correct joints over the visible ones, the epoch-by-epoch
    spread is the mean and SDs (n - 1) of the curves' values over the seeds, the seeds a +-0.01
    interval would take at the gaps' SD (and at the ends of its chi-square interval) is a plain
    scan's first n, the rows' correlation is
    numpy's, and a pair whose trials trained with different seeds is refused (exit 2, one line)."""
    module = _script("seeds", "readings", "seeds.py")
    versus = _script("versus", "readings", "versus.py")
    rng = np.random.default_rng(5)
    ids, visible = np.arange(40), rng.integers(1, 15, size=40)
    pairs, counts, curves = [], {}, {}
    for seed in range(3):
        pair = []
        for row in ("a", "b"):
            folder = tmp_path / f"{row}{seed}"
            folder.mkdir()
            correct = rng.integers(0, visible + 1)
            np.savez(folder / "per_image.npz", image_ids=ids, loc_visible=visible, loc_correct=correct)
            curve = [float(v) for v in rng.uniform(0, 0.4, size=2)]
            epochs = [{"epoch": e + 1, "ladder": {"readouts": {"responses": v}}} for e, v in enumerate(curve)]
            (folder / "metrics.json").write_text(json.dumps({"config": {"seed": seed}, "curve": epochs}))
            counts[folder], curves[folder] = correct, curve
            pair.append(folder)
        pairs.append(tuple(pair))
    (summary,) = module.across(pairs)
    assert summary.readout == "responses"
    by_hand = [(counts[b].sum() - counts[a].sum()) / visible.sum() for a, b in pairs]
    assert summary.gaps == pytest.approx(by_hand)
    for (a, b), gap in zip(pairs, summary.gaps):
        assert dict((n, p) for n, p, *_ in versus.compare(a, b))["responses"] == pytest.approx(gap)
    assert summary.a[0] == pytest.approx(counts[pairs[0][0]].sum() / visible.sum())
    half = 4.302652729911275 * np.std(by_hand, ddof=1) / np.sqrt(3)
    assert summary.mean == pytest.approx(np.mean(by_hand))
    assert (summary.low, summary.high) == pytest.approx((np.mean(by_hand) - half, np.mean(by_hand) + half))
    spread = module.by_epoch(pairs)
    assert [e.epoch for e in spread] == [1, 2]
    for e in spread:
        a = [curves[pa][e.epoch - 1] for pa, _ in pairs]
        b = [curves[pb][e.epoch - 1] for _, pb in pairs]
        gap = np.subtract(b, a)
        assert e.mean == pytest.approx(gap.mean())
        assert (e.sd_gap, e.sd_a, e.sd_b) == pytest.approx(
            tuple(float(np.sqrt(((x - x.mean()) ** 2).sum() / 2)) for x in (gap, np.asarray(a), np.asarray(b))))
    assert module.by_epoch(pairs[:1]) == []  # one seed has no spread
    flat = [str(p) for pair in pairs for p in pair]
    assert module.main(flat) == 0
    out = capsys.readouterr().out
    assert "SD gap" in out
    sd = float(np.std(by_hand, ddof=1))
    n = next(n for n in range(2, 10**6) if stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) <= 0.01)  # a plain scan
    assert f"SD of the gap over the seeds {sd:.3f}; a 95 % t interval of +-0.010 would take {n} seeds" in out
    # the SD's own interval over 3 seeds (chi-square, 2 df: its quantiles are -2 ln(1 - p)) and the
    # counts a plain scan gives at its ends
    low, high = sd * np.sqrt(2 / (-2 * np.log(0.025))), sd * np.sqrt(2 / (-2 * np.log(0.975)))
    n_low, n_high = (next(n for n in range(2, 10**6) if stats.t.ppf(0.975, n - 1) * s / np.sqrt(n) <= 0.01)
                     for s in (low, high))
    assert (f"the SD's 95 % interval over 3 seeds, [{low:.3f}, {high:.3f}] (chi-square), puts it between "
            f"{n_low} and {n_high} seeds") in out
    a_fig, b_fig = np.asarray(summary.a), np.asarray(summary.b)
    r = np.corrcoef(a_fig, b_fig)[0, 1]
    unpaired = np.sqrt(a_fig.var(ddof=1) + b_fig.var(ddof=1))
    assert f"the rows' correlation over the seeds r = {r:+.2f}; SD of the gap {sd:.3f} against {unpaired:.3f}" in out
    assert module.main([flat[0], flat[3]]) == 2  # seed 0's A against seed 1's B
    assert "must share its seed" in capsys.readouterr().err


def test_readings_effects_are_the_textbook_2x2_contrasts_over_seeds_and_refuse_a_set_that_is_no_factorial(tmp_path, capsys):
    """experiments/readings/effects.py: on a 2 x 2 over RePPG and PDC in 3 seeds, each main effect
    is the mean of the cells with the module on minus those with it off, the interaction half the
    difference of the conditional effects, and the interval +- t(0.975, 8 df) times the pooled
    within-cell SD times sqrt(1/3) (each cell mean over 3 seeds, weights +-1/2; the quantile written
    out, 2.3060); PDC's beta differs only where PDC is on and is allowed; a trial that differs in
    another value, or a set switching one module, is refused (exit 2, one line)."""
    module = _script("readings_effects", "readings", "effects.py")
    rng = np.random.default_rng(11)
    ids, visible = np.arange(30), rng.integers(1, 15, size=30)
    figures, folders = {}, []
    for reppg in (False, True):
        for pdc in (False, True):
            for seed in range(3):
                folder = tmp_path / f"r{int(reppg)}p{int(pdc)}s{seed}"
                folder.mkdir()
                correct = rng.integers(0, visible + 1)
                np.savez(folder / "per_image.npz", image_ids=ids, loc_visible=visible, loc_correct=correct)
                model = {"spe": True, "multi_scale": False, "reppg": reppg, "pdc": pdc, "d_model": 64}
                if pdc:
                    model["beta"] = 0.01
                (folder / "metrics.json").write_text(json.dumps({"config": {"seed": seed, "model": model}}))
                figures.setdefault((reppg, pdc), []).append(correct.sum() / visible.sum())
                folders.append(folder)
    names, results = module.effects(folders)
    assert names == ("RePPG", "PDC")
    result, cells = results["responses"]
    assert set(results) == {"responses"}
    mean = {c: np.mean(v) for c, v in figures.items()}
    main = {e.name: e for e in result.main}
    assert main["RePPG"].estimate == pytest.approx((mean[True, False] + mean[True, True] - mean[False, False] - mean[False, True]) / 2)
    assert main["PDC"].estimate == pytest.approx((mean[False, True] + mean[True, True] - mean[False, False] - mean[True, False]) / 2)
    with_pdc = mean[True, True] - mean[False, True]
    without = mean[True, False] - mean[False, False]
    assert result.interactions[0].estimate == pytest.approx((with_pdc - without) / 2)
    s2 = sum(np.sum((np.asarray(v) - np.mean(v)) ** 2) for v in figures.values()) / 8
    half = 2.306004135204166 * np.sqrt(s2 / 3)
    assert (main["RePPG"].lo, main["RePPG"].hi) == pytest.approx((main["RePPG"].estimate - half, main["RePPG"].estimate + half))
    assert result.df == 8
    assert module.main([str(f) for f in folders]) == 0
    odd = tmp_path / "r0p0s0"
    config = json.loads((odd / "metrics.json").read_text())
    config["config"]["model"]["d_model"] = 32
    (odd / "metrics.json").write_text(json.dumps(config))
    assert module.main([str(f) for f in folders]) == 2
    assert "model.d_model" in capsys.readouterr().err
    one_switch = [f for f in folders if f.name.startswith("r1")]
    assert module.main([str(f) for f in one_switch]) == 2
    assert "switch 1 declared module" in capsys.readouterr().err


def test_readings_summary_tells_rows_apart_by_every_varying_value_and_computes_main_effects(tmp_path, monkeypatch):
    """experiments/readings/summary.py: a row is named by what sets it apart (a reading not every
    row shares, or a config value that varies, such as the epochs), not "(the round's base)" for
    every row; each two-valued factor's main effect is the difference of the two groups' means
    (computed here by hand); failed trials are left out."""
    path = Path(__file__).resolve().parents[1] / "experiments" / "readings" / "summary.py"
    spec = importlib.util.spec_from_file_location("readings_summary", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "readings_summary", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    trials = {  # id: (spe_fusion, epochs, responses, cams, status)
        "a": ("outer", 5, 0.20, 0.10, "completed"),
        "b": ("outer", 10, 0.30, 0.16, "completed"),
        "c": ("product", 10, 0.26, 0.22, "completed"),  # "product" is the literal reading
        "d": ("product", 5, 0.90, 0.90, "failed"),
    }
    for tid, (fusion, epochs, resp, cams, status) in trials.items():
        (tmp_path / tid).mkdir()
        (tmp_path / tid / "metrics.json").write_text(json.dumps({
            "status": status,
            "config": {"model": {"spe_fusion": fusion, "response_prior": "cam", "d_model": 64},
                       "schedule": {"epochs": epochs}},
            "readouts": {"responses": {"PCK@0.1": resp}, "cams": {"PCK@0.1": cams}},
            "classification": {"cnn": {"gain": 0.8}}, "diagnostics": {}}))
    rows = module.load_rows(tmp_path)
    assert [r.trial for r in rows] == ["a", "b", "c"]
    by_trial = module.factors(rows)
    # response_prior is shared by every row and d_model never varies: neither names a row
    assert by_trial == {"a": {"spe_fusion": "outer", "epochs": "5"}, "b": {"spe_fusion": "outer", "epochs": "10"},
                        "c": {"spe_fusion": "literal", "epochs": "10"}}
    effects = {name: (low, high, e) for name, low, high, e in module.main_effects(rows, by_trial)}
    low, high, e = effects["epochs"]
    assert (low, high) == ("5", "10")  # ordered as numbers, not as text
    assert e["responses"] == pytest.approx((0.30 + 0.26) / 2 - 0.20)
    assert e["cams"] == pytest.approx((0.16 + 0.22) / 2 - 0.10)
    low, high, e = effects["spe_fusion"]
    assert (low, high) == ("literal", "outer")  # the effect reads choice - literal
    assert e["responses"] == pytest.approx((0.20 + 0.30) / 2 - 0.26)


def test_readings_curves_lists_each_read_out_per_epoch_and_its_first_peak(tmp_path, capsys):
    """experiments/readings/curves.py: the values in epoch order from the metrics.json curve, None
    where an epoch lacks one, the peak's epoch counted from 1 (the first of a tie), and a folder
    without trials refused with exit 2."""

    module = _script("readings_curves", "readings", "curves.py")
    cams, responses = [0.10, 0.30, 0.25, 0.30], [0.05, None, 0.20, 0.15]
    curve = [{"epoch": i + 1, "ladder": {"mAP": {"cnn": 0.9 + i / 100},
                                         "readouts": {"cams": c, **({"responses": r} if r is not None else {})}}}
             for i, (c, r) in enumerate(zip(cams, responses))]
    metrics = {"curve": [{"epoch": 0}] + curve}  # an entry without a ladder is not an epoch of the table
    table = module.curves(metrics)
    assert table == {"responses": responses, "cams": cams, "mAP cnn": pytest.approx([0.90, 0.91, 0.92, 0.93])}
    assert module.peak(cams) == (2, 0.30) and module.peak(responses) == (3, 0.20)
    assert module.peak([None, None]) is None
    (tmp_path / "t1").mkdir()
    (tmp_path / "t1" / "metrics.json").write_text(json.dumps(metrics))
    assert module.main([str(tmp_path)]) == 0
    assert "peak 0.300 after epoch 2" in capsys.readouterr().out
    assert module.main([str(tmp_path / "t1")]) == 2


def test_readings_prior_share_spans_are_max_minus_median_over_the_visible_joints():
    """experiments/readings/prior_share.py's `spans`: per joint max - median over the positions,
    then the median over the visible joints only (values written out by hand)."""

    module = _script("readings_prior_share", "readings", "prior_share.py")
    logs = np.array([[[0.0, 1.0, 5.0], [2.0, 2.0, 2.0], [-9.0, 0.0, 0.0]],
                     [[1.0, 1.0, 4.0], [0.0, 7.0, 1.0], [0.0, 0.0, 0.0]]])  # 2 instances x 3 joints x 3 positions
    visible = np.array([[True, True, False], [True, True, False]])
    # spans of the visible joints: 5 - 1, 2 - 2, 4 - 1, 7 - 1 -> median of (4, 0, 3, 6) = 3.5
    assert module.spans(logs, visible) == pytest.approx(3.5)
    assert module.spans(logs, np.ones_like(visible)) == pytest.approx(1.5)  # all six: (4, 0, 0, 3, 6, 0)


def test_readings_follows_figures_computed_by_hand():
    """experiments/readings/follows.py: peaks on the joints score 1 with no offset and correlation
    1; peaks shifted by twice the threshold score 0 with offset 2 and still correlation 1; one fixed
    placement correlates 0; a derangement moves every crop; hidden joints are left out."""

    module = _script("readings_follows", "readings", "follows.py")
    height = 64
    threshold = 0.1 * height / 1.25  # 5.12 px
    rng = np.random.default_rng(5)
    gt = rng.uniform(0, 48, size=(30, 3, 2))
    shown = np.ones((30, 3), bool)
    shown[0, 0] = False
    assert module.crop_pck(gt, gt, shown, height) == 1.0
    assert module.mean_offset(gt, gt, shown, height) == pytest.approx(0.0)
    assert module.follow_corr(gt, gt, shown) == pytest.approx(1.0)
    shifted = gt + np.array([2 * threshold, 0.0])
    assert module.crop_pck(shifted, gt, shown, height) == 0.0
    assert module.mean_offset(shifted, gt, shown, height) == pytest.approx(2.0)
    assert module.follow_corr(shifted, gt, shown) == pytest.approx(1.0)
    fixed = np.broadcast_to(gt.mean(axis=0), gt.shape)
    assert module.follow_corr(fixed, gt, shown) == 0.0  # a constant peak carries nothing
    # A hidden joint far off changes nothing.
    wrong = gt.copy()
    wrong[0, 0] += 100.0
    assert module.crop_pck(wrong, gt, shown, height) == 1.0
    # Within the threshold counts, beyond it does not: one of the 89 shown joints moved out.
    moved = gt.copy()
    moved[1, 1] += np.array([threshold * 0.99, 0.0])
    moved[2, 2] += np.array([0.0, threshold * 1.01])
    assert module.crop_pck(moved, gt, shown, height) == pytest.approx(88 / 89)
    perm = module.derangement(30, np.random.default_rng(0))
    assert sorted(perm) == list(range(30)) and not np.any(perm == np.arange(30))
    # Per joint: the offset in thresholds (x right, y down) and the share within the threshold.
    rows = module.per_joint(shifted, gt, shown, height)
    assert rows[:, 0] == pytest.approx([2.0] * 3) and rows[:, 1] == pytest.approx([0.0] * 3)
    assert list(rows[:, 2]) == [0.0, 0.0, 0.0]
    assert module.per_joint(gt, gt, np.zeros_like(shown), height).shape == (3, 4)  # NaN rows, no error
    # Left/right: peaks on the mirror joint all count as swapped, peaks on their own none.
    pairs = [(1, 2)]
    mirrored = gt.copy()
    mirrored[:, [1, 2]] = gt[:, [2, 1]]
    assert module.swap_share(mirrored, gt, shown, pairs) == 1.0
    assert module.swap_share(gt, gt, shown, pairs) == 0.0
    half = gt.copy()
    half[:, 1] = gt[:, 2]  # the left peaks on the right joint, the right ones on their own
    assert module.swap_share(half, gt, shown, pairs) == 0.5
    # Either side: the mirrored peaks all count, as do the peaks on their own joint.
    assert module.crop_pck(mirrored, gt, shown, height) < 1.0
    assert module.either_side_pck(mirrored, gt, shown, pairs, height) == 1.0
    apart = gt.copy()
    apart[:, 2] = apart[:, 1] + np.array([0.0, 30.0])  # the pair far apart: a miss stays a miss
    off = apart + np.array([2 * threshold, 0.0])
    assert module.either_side_pck(off, apart, shown, pairs, height) == module.crop_pck(off, apart, shown, height) == 0.0
    one = np.ones((4, 3), bool)
    one[0, 1] = False  # crop 0: pair (1, 2) one-sided
    one[1, 1] = one[1, 2] = False  # crop 1: both hidden, not one-sided
    assert module.one_sided_share(one, pairs) == pytest.approx(1 / 4)


def test_readings_pooled_against_the_mean_pose_by_hand():
    """experiments/readings/pooled.py: each trial's value is its correct over visible joints and its
    point delta that minus the reference's; two copies of a trial pool to that trial; a trial on
    other images is refused."""

    module = _script("readings_pooled", "readings", "pooled.py")
    ids, visible = np.arange(4), np.array([2, 4, 0, 4])
    ref = {"image_ids": ids, "loc_visible": visible, "loc_correct": np.array([1, 1, 0, 2])}  # 4 / 10
    a = {"image_ids": ids, "loc_visible": visible, "loc_correct": np.array([2, 3, 0, 1])}  # 6 / 10
    b = {"image_ids": ids, "loc_visible": visible, "loc_correct": np.array([0, 1, 0, 1])}  # 2 / 10
    rows = {(label, name): (value, d) for label, name, value, d, _, _ in module.against(ref, [a, b])}
    assert rows[("0", "responses")] == pytest.approx((0.6, 0.2))
    assert rows[("1", "responses")] == pytest.approx((0.2, -0.2))
    assert rows[("pooled", "responses")] == pytest.approx((0.4, 0.0))
    assert {name for _, name in rows} == {"responses"}  # no other read-out in these trials
    same = {(label, name): (value, d, lo, hi) for label, name, value, d, lo, hi in module.against(ref, [a, a])}
    assert same[("pooled", "responses")] == pytest.approx(same[("0", "responses")])
    with pytest.raises(ValueError, match="reference's images"):
        module.against(ref, [{**a, "image_ids": ids + 1}])


def test_readings_decoder_moves_tally_counted_joint_by_joint():
    """experiments/readings/decoder_moves.py's `tally`: gained and lost joints, the rates among them
    and the error categories, against a joint-by-joint count; gained - lost is the responses' PCK
    minus the CAMs' (the invariant the log reads the +-0.05 by)."""
    module = _script("readings_decoder_moves", "readings", "decoder_moves.py")
    rng = np.random.default_rng(3)
    n, k = 40, 17
    visible = rng.random((n, k)) < 0.7
    correct = {name: rng.random((n, k)) < p for name, p in
               (("responses", 0.4), ("cams", 0.4), ("attention", 0.1), ("mean pose", 0.3))}
    fixed = rng.random((n, k)) < 0.2
    # the categories agree with the correctness: "good" exactly where the read-out is right
    codes = {name: np.where(correct[name], 0, rng.integers(1, len(CATEGORIES), (n, k)))
             for name in ("responses", "cams")}
    m = module.tally(correct, visible, fixed, codes)
    gained, lost, total = [], [], 0
    for i in range(n):
        for j in range(k):
            if not visible[i, j]:
                continue
            total += 1
            if correct["responses"][i, j] and not correct["cams"][i, j]:
                gained.append((i, j))
            if correct["cams"][i, j] and not correct["responses"][i, j]:
                lost.append((i, j))
    assert m.visible == total
    assert m.gained == pytest.approx(len(gained) / total) and m.lost == pytest.approx(len(lost) / total)
    assert m.gained - m.lost == pytest.approx(m.pck["responses"] - m.pck["cams"])
    assert m.gained_attention == pytest.approx(sum(correct["attention"][ij] for ij in gained) / len(gained))
    assert m.lost_mean_pose == pytest.approx(sum(correct["mean pose"][ij] for ij in lost) / len(lost))
    assert m.fixed == pytest.approx(sum(fixed[i, j] for i in range(n) for j in range(k) if visible[i, j]) / total)
    miss = CATEGORIES.index("miss")
    assert m.gained_from["miss"] == pytest.approx(sum(codes["cams"][ij] == miss for ij in gained) / len(gained))
    assert sum(m.gained_from.values()) == pytest.approx(1.0) and sum(m.lost_to.values()) == pytest.approx(1.0)
    none = module.tally({name: np.zeros((n, k), bool) for name in correct}, visible, fixed, codes)
    assert none.gained == 0 and np.isnan(none.gained_attention) and np.isnan(none.lost_to["jitter"])



def _links_folder(root: Path) -> Path:
    """A records folder for links.py: the mean pose (8 of 20 joints per ... 0.4), a baseline and full
    LOFR in seeds 0-1, full LOFR trained again at seed 0 on two other machines ("-r30" with the baseline
    "-s19" beside it on the same arithmetic; "-old", unrecorded, alone), and a RePPG row whose CAMs and responses sit below the mean pose with parallel
    prototypes. Every trial scored on the same 40 images, 5 visible joints each."""
    folder = root / "nosuchscale"  # no scale of run_matrix.yaml: every trial's studies read "?"
    (folder / "references").mkdir(parents=True)
    ids, visible = np.arange(40), np.full(40, 5)
    rng = np.random.default_rng(5)
    (folder / "references" / "coco_synth-x.json").write_text(json.dumps(
        {"dataset": "coco_synth", "kind": "coco", "split": "val", "metrics": {"PCK@0.1": 0.4}, "input_size": [128, 96]}))
    np.savez(folder / "references" / "coco_synth-x.npz", image_ids=ids, loc_visible=visible,
             loc_correct=np.full(40, 2))
    figures = {}

    def trial(name: str, seed: int, modules: dict, responses: float, cams: float, diagnostics: dict,
              numerics: str | None = None) -> None:
        correct = rng.binomial(5, responses, size=40)
        cams_correct = rng.binomial(5, cams, size=40)
        pck = float(correct.sum() / visible.sum())
        figures[name] = pck
        (folder / name).mkdir()
        np.savez(folder / name / "per_image.npz", image_ids=ids, loc_visible=visible, loc_correct=correct,
                 cams_loc_correct=cams_correct)
        model = {"spe": False, "multi_scale": False, "reppg": False, "pdc": False, "beta": 0.1, **modules}
        (folder / name / "metrics.json").write_text(json.dumps({
            "status": "completed", "metrics": {"PCK@0.1": pck},
            "config": {"seed": seed, "dataset": {"name": "coco_synth", "kind": "coco"}, "model": model,
                       "supervision": {"regime": "location_free"}},
            "classification": {"cnn": {"mAP": 0.9, "chance_mAP": 0.5, "gain": 0.8}},
            "readouts": {"responses": {"PCK@0.1": pck}, "cams": {"PCK@0.1": float(cams_correct.sum() / 200)}},
            "diagnostics": diagnostics, **({"machine": {"numerics": numerics}} if numerics else {})}))

    lofr = {"spe": True, "reppg": True, "pdc": True, "beta": 0.001}
    for seed in (0, 1):
        trial(f"base{seed}", seed, {}, 0.7, 0.7, {})
        trial(f"lofr{seed}", seed, lofr, 0.75 + 0.1 * seed, 0.7, {})
    trial("lofr0-r30", 0, lofr, 0.8, 0.7, {}, numerics="n1")  # trained again where base0-s19 was
    trial("base0-s19", 0, {}, 0.6, 0.7, {}, numerics="n1")
    trial("lofr0-old", 0, lofr, 0.8, 0.7, {})  # another machine, unrecorded, with no baseline of its own
    trial("reppg0", 0, {"reppg": True}, 0.1, 0.1, {"prototype_cos": 0.99, "part_feature_cos": 0.5})
    (folder / "rescored0").mkdir()
    (folder / "rescored0" / "metrics.json").write_text(json.dumps({"status": "rescored", "config": {}}))
    return folder, figures


def test_readings_links_each_combinations_first_failing_link_and_its_gap_to_the_baseline(tmp_path, capsys,
                                                                                          monkeypatch):
    """experiments/readings/links.py: trials group by config (seed aside) and by machine tag; a row
    below the mean pose fails first at link 2 and its link 3 is flagged by its prototypes; full LOFR's
    gap to its baseline is the seeds' mean of the per-seed differences, with the textbook t interval
    over the 2 seeds (t(0.975, 1) = 12.706); a rerun pairs with the baseline record of its seed
    trained with the same arithmetic (`machine.numerics`), whatever its tag, and an unrecorded one
    with none of another tag; the rescored record is not read, and a folder without one reference is
    refused (exit 2)."""
    path = Path(__file__).resolve().parents[1] / "experiments" / "readings" / "links.py"
    spec = importlib.util.spec_from_file_location("readings_links", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "readings_links", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    folder, fig = _links_folder(tmp_path)
    trials, ref, tags, skipped = module.load_folder(folder)
    assert skipped == ["rescored0 (rescored)"]
    found = {c.row.trials[0].id: c for c in module.combinations(trials, tags, ref, module.PerImageCache())}
    assert set(found) == {"base0", "base0-s19", "lofr0", "lofr0-old", "lofr0-r30", "reppg0"}
    assert [t.id for t in found["lofr0"].row.trials] == ["lofr0", "lofr1"]
    assert found["base0"].ladder.first_fail is None and found["base0"].gap is None
    bad = found["reppg0"]
    assert bad.ladder.first_fail == 2 and bad.ladder.flags == ["indistinct prototypes"]
    assert bad.baseline is found["base0"] and bad.gap.pairs == 1 and bad.gap.seeds_lo is None
    gap = found["lofr0"].gap
    per_seed = [fig["lofr0"] - fig["base0"], fig["lofr1"] - fig["base1"]]
    assert gap.delta == pytest.approx(np.mean(per_seed))
    half = 12.7062 * np.std(per_seed, ddof=1) / np.sqrt(2)
    assert (gap.seeds_lo, gap.seeds_hi) == pytest.approx((np.mean(per_seed) - half, np.mean(per_seed) + half), abs=1e-4)
    assert gap.lo <= gap.delta <= gap.hi
    rerun = found["lofr0-r30"]
    assert rerun.tag == "r30" and rerun.gap.pairs == 1
    assert rerun.gap.delta == pytest.approx(fig["lofr0-r30"] - fig["base0-s19"])
    assert found["lofr0-old"].baseline is found["base0"] and found["lofr0-old"].gap is None
    assert module.main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert "| ? | reppg0 | + RePPG | - | 0 | 1/1 0/1 0/1 | 2 (the CAMs) | indistinct prototypes |" in out
    # the baseline's beta 0.1 is read by no module there: it does not set the baseline apart from LOFR's 0.001
    assert "| ? | base0 | Baseline | - | 0,1 | 2/2 2/2 2/2 | none | - |" in out
    assert "| no seed of its baseline trained on its machine |" in out
    assert "none flags it" not in out  # the one row whose link 3 fails is flagged
    assert "6 combinations; first link to fail: link 2: 1, none: 5" in out
    assert "of the 3 with a module on and no failing link, 2 have their baseline here" in out
    (folder / "references" / "coco_synth-x.json").rename(folder / "references" / "other.txt")
    assert module.main([str(folder)]) == 2
    assert "holds 0 mean-pose references" in capsys.readouterr().err
