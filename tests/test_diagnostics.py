"""The decoder's diagnostics (harness/evaluation/diagnostics.py) on constructed inputs: uniform maps,
identical prototypes, response peaks on the CAM peaks; and the flags the report names."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harness.evaluation import diagnostics as diag


def test_uniform_maps_have_entropy_one_and_are_flagged_collapsed():
    n, k, length = 3, 4, 192
    uniform = np.full((n, k, length), 1 / length)
    h = diag.normalised_entropy(uniform)
    assert np.allclose(h, 1.0)
    one_hot = np.zeros((n, k, length))
    one_hot[..., 7] = 1.0
    assert np.allclose(diag.normalised_entropy(one_hot), 0.0)
    # two equal peaks: log 2 / log L
    two = np.zeros((1, 1, length))
    two[..., [3, 9]] = 0.5
    assert diag.normalised_entropy(two)[0, 0] == pytest.approx(np.log(2) / np.log(length))
    visible = np.ones((n, k), bool)
    visible[0, 0] = False
    cos = np.zeros(n)
    d = diag.summarise(h, visible, cos, cos, np.zeros((n, k), bool), np.zeros((n, k)))
    assert d["attention_entropy"] == pytest.approx(1.0) and d["uniform_fraction"] == 1.0
    assert diag.flags(d)[0] == "collapsed attention"
    peaked = diag.summarise(diag.normalised_entropy(one_hot), visible, cos, cos, np.ones((n, k), bool), np.zeros((n, k)))
    assert peaked["uniform_fraction"] == 0.0 and diag.flags(peaked) == []


def test_identical_prototypes_have_cos_one_and_orthogonal_ones_zero():
    same = np.tile(np.array([1.0, -2.0, 0.5]), (2, 5, 1))
    assert np.allclose(diag.mean_abs_cos(same), 1.0)
    opposite = same.copy()
    opposite[:, 1] *= -1  # |cos|: antiparallel counts as indistinct too
    assert np.allclose(diag.mean_abs_cos(opposite), 1.0)
    assert np.allclose(diag.mean_abs_cos(np.eye(4)[None]), 0.0)
    # by hand: three vectors, pairs (0, 1) cos 0.6, (0, 2) 0, (1, 2) 0.8 -> mean |cos| = 1.4 / 3
    v = np.array([[[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 1.0, 0.0]]])
    assert diag.mean_abs_cos(v)[0] == pytest.approx((0.6 + 0.0 + 0.8) / 3)
    d = diag.summarise(np.zeros((2, 5)), np.ones((2, 5), bool), diag.mean_abs_cos(same), np.zeros(2),
                       np.ones((2, 5), bool), np.zeros((2, 5)))
    assert diag.flags(d) == ["indistinct prototypes"]


def test_response_peaks_on_the_cam_peaks_agree_and_the_shuffle_is_lower():
    rng = np.random.default_rng(0)
    n, k, h, w, stride = 6, 5, 16, 12, 4
    cams = rng.random((n, k, h, w))
    peaks_cam = diag.peak_positions(cams, stride)
    # a response map peaking exactly where the CAM does
    responses = np.zeros_like(cams)
    idx = cams.reshape(n, k, -1).argmax(-1)
    responses.reshape(n, k, -1)[np.arange(n)[:, None], np.arange(k)[None, :], idx] = 1.0
    assert np.array_equal(diag.peak_positions(responses, stride), peaks_cam)
    assert np.array_equal(peaks_cam[..., 0] % stride, np.zeros((n, k)))  # x = column * stride
    visible = np.ones((n, k), bool)
    own, shuffled = diag.peak_agreement(diag.peak_positions(responses, stride), peaks_cam, visible, cell=8)
    assert own.all()
    d = diag.summarise(np.zeros((n, k)), visible, np.zeros(n), np.zeros(n), own, shuffled)
    assert d["response_cam_agreement"] == 1.0 and d["response_cam_agreement_shuffled"] < 1.0
    # the shuffle by hand: joint j's response peak against joint (j + s)'s CAM peak, s = 1 .. k - 1
    by_hand = np.mean([[[np.abs(peaks_cam[i, j] - peaks_cam[i, (j + s) % k]).max() <= 8 for s in range(1, k)]
                        for j in range(k)] for i in range(n)])
    assert d["response_cam_agreement_shuffled"] == pytest.approx(by_hand)
    # responses that ignore the CAMs (all at one corner) agree no better than chance: flagged
    corner = np.zeros_like(cams)
    corner[..., 0, 0] = 1.0
    own, shuffled = diag.peak_agreement(diag.peak_positions(corner, stride), peaks_cam, visible, cell=8)
    d = diag.summarise(np.zeros((n, k)), visible, np.zeros(n), np.zeros(n), own, shuffled)
    assert "responses not following the CAMs" in diag.flags(d)


def test_only_visible_joints_count_and_nothing_visible_gives_none():
    own = np.array([[True, False]])
    d = diag.summarise(np.array([[1.0, 0.0]]), np.array([[True, False]]), np.zeros(1), np.zeros(1),
                       own, np.zeros((1, 2)))
    assert d["attention_entropy"] == 1.0 and d["response_cam_agreement"] == 1.0
    none = diag.summarise(np.zeros((1, 2)), np.zeros((1, 2), bool), np.zeros(0), np.zeros(0),
                          np.zeros((1, 2), bool), np.zeros((1, 2)))
    assert none["attention_entropy"] is None and none["prototype_cos"] is None and diag.flags(none) == []


def test_the_ladder_names_the_diagnostics_that_flag_each_row_whose_link_3_fails():
    """Seeds' diagnostics are averaged per row (computed by hand here), the row's flags come from the
    means, and the study's summary counts them; a row whose link 3 holds is not flagged."""
    from pathlib import Path

    from harness.report.ladder import LINKS, RowLadder, summarise
    from harness.report.loading import TrialRecord
    from harness.report.rows import Row
    from harness.report.stats import Summary, summarize_rows

    def trial(i: int, d: dict) -> TrialRecord:
        return TrialRecord(id=f"t{i}", config={}, studies=["s"], status="completed", dir=Path("."),
                           metrics={"PCK@0.1": 0.1}, diagnostics=d)

    collapsed = [{"uniform_fraction": 0.8, "prototype_cos": 0.5}, {"uniform_fraction": 0.4, "prototype_cos": 0.5}]
    rows = [Row(1, {}, [trial(i, d) for i, d in enumerate(collapsed)]),
            Row(2, {}, [trial(3, {"uniform_fraction": 0.0, "prototype_cos": 0.95})]),
            Row(3, {}, [trial(4, {"uniform_fraction": 0.9})])]
    sums = summarize_rows(rows, ["uniform_fraction", "prototype_cos"], lambda t, k: t.diagnostics.get(k))
    assert sums[(1, "uniform_fraction")].mean == pytest.approx(0.6)  # the seeds' mean: flagged at >= 0.5

    def ladder(row: Row, link3: bool) -> RowLadder:
        d = {k: sums[(row.number, k)] for k in ("uniform_fraction", "prototype_cos") if sums[(row.number, k)].mean is not None}
        return RowLadder(row=row, recorded=True, location_free=True, heads={}, readouts={}, against={}, errors={},
                         links=(True, True, link3), diagnostics=d)

    ladders = [ladder(rows[0], False), ladder(rows[1], False), ladder(rows[2], True)]
    assert ladders[0].flags == ["collapsed attention"] and ladders[1].flags == ["indistinct prototypes"]
    assert ladders[2].flags == []  # link 3 holds: nothing to explain
    s = summarise(ladders)
    assert s.link3_flags == {"collapsed attention": 1, "indistinct prototypes": 1} and s.link3_unflagged == 0
    assert s.first_fail == 3 and LINKS[2].name in s.verdict()
    assert "Link 3 fails with collapsed attention (1 row), indistinct prototypes (1 row)" in s.verdict()
    assert isinstance(sums[(3, "prototype_cos")], Summary) and sums[(3, "prototype_cos")].mean is None


def _located_trial(root, rng: np.random.Generator, visible: np.ndarray, name: str, seed: int, p: float):
    """A completed trial under `root` whose per-image location counts hit each visible joint with
    probability `p`, its "Mean" the pooled hit rate (what the report's location deltas read)."""
    from test_report_fixture import location_counts, mpii_per_image

    from harness.evaluation.per_image import save_per_image
    from harness.report.loading import TrialRecord

    per = location_counts(mpii_per_image(rng, visible, p), rng, 0.1, 0.1)
    folder = root / name
    folder.mkdir()
    save_per_image(folder / "per_image.npz", per)
    return TrialRecord(id=name, config={"seed": seed}, studies=["s"], status="completed", dir=folder,
                       metrics={"Mean": per["loc_correct"].sum() / per["loc_visible"].sum()})


def test_the_location_delta_against_the_comparison_row_is_paired_over_images(tmp_path):
    """Δ of the location metric of a row against its comparison row (the baseline under the same
    readings): the seeds' means, the same image resample for both; checked against the formula."""
    from harness.report.bootstrap import PerImageCache
    from harness.report.mean_pose import location_delta

    rng = np.random.default_rng(3)
    visible = rng.random((30, 16)) < 0.8

    def trial(name: str, seed: int, p: float):
        return _located_trial(tmp_path, rng, visible, name, seed, p)

    full = [trial(f"f{s}", s, 0.6) for s in range(3)]
    base = [trial(f"b{s}", s, 0.3) for s in range(3)]
    d = location_delta(full, base, "Mean", PerImageCache(), n=500)
    by_hand = np.mean([t.metrics["Mean"] for t in full]) - np.mean([t.metrics["Mean"] for t in base])
    assert d.delta == pytest.approx(by_hand) and d.lo < d.delta < d.hi and d.excludes_zero and d.pairs == 3
    same = location_delta(base, base, "Mean", PerImageCache(), n=200)
    assert (same.delta, same.lo, same.hi) == (0.0, 0.0, 0.0)  # a row against itself: zero on every resample
    assert location_delta(full, [], "Mean", PerImageCache()) is None


def test_the_location_delta_carries_a_t_interval_over_the_seeds_and_the_cell_shows_it(tmp_path):
    """readings_seeds27: an image interval on the seeds' mean excluded zero while the gap changed
    sign across seeds. The Δ against the comparison row also carries the seeds' 95 % t interval
    (mean +- t(0.975, 2 df) s / sqrt(3), the quantile written out), shown under the Δ cell; one
    paired seed gives none."""
    from harness.report.bootstrap import PerImageCache
    from harness.report.cells import Format
    from harness.report.mean_pose import location_delta
    from harness.report.rows import Row
    from harness.report.study_tables import _delta_cell

    rng = np.random.default_rng(11)
    visible = rng.random((30, 16)) < 0.8
    full = [_located_trial(tmp_path, rng, visible, f"f{s}", s, p) for s, p in enumerate((0.5, 0.4, 0.6))]
    base = [_located_trial(tmp_path, rng, visible, f"b{s}", s, p) for s, p in enumerate((0.45, 0.5, 0.5))]
    d = location_delta(full, base, "Mean", PerImageCache(), n=300)
    gaps = [f.metrics["Mean"] - b.metrics["Mean"] for f, b in zip(full, base)]
    half = 4.302652729911275 * np.std(gaps, ddof=1) / np.sqrt(3)
    assert (d.seeds_lo, d.seeds_hi) == pytest.approx((np.mean(gaps) - half, np.mean(gaps) + half))
    fmt = Format(digits=2)
    cell = _delta_cell((Row(1, {}, base), d), fmt)
    assert cell.sub == f"seeds [{fmt.signed(d.seeds_lo)}, {fmt.signed(d.seeds_hi)}]"  # holds zero: no star
    assert d.seeds_lo < 0 < d.seeds_hi and not d.seeds_exclude_zero
    # each interval its own star: the seeds' one above zero is starred under an image one that is not
    above = replace(d, lo=-0.01, hi=0.02, seeds_lo=0.004, seeds_hi=0.03)
    starred = _delta_cell((Row(1, {}, base), above), fmt)
    assert starred.sub == f"seeds [{fmt.signed(0.004)}, {fmt.signed(0.03)}] *" and not starred.text.endswith("*")
    below = replace(d, seeds_lo=-0.03, seeds_hi=-0.001)
    assert _delta_cell((Row(1, {}, base), below), fmt).sub.endswith("] *")
    one = location_delta(full[:1], base[:1], "Mean", PerImageCache(), n=100)
    assert one.seeds_lo is None and one.seeds_hi is None
    assert _delta_cell((Row(1, {}, base), one), fmt).sub == ""


def test_the_trials_list_compares_each_trial_with_its_baseline_of_the_same_seed(tmp_path):
    """Issue 21's moonshot asks for full LOFR above its baseline in each seed: the trials list gives
    each trial's own paired interval against the comparison row's trial of the same seed (its point
    estimate the two trials' metric difference); the baseline's own trials, and a trial whose seed
    the baseline lacks, get none."""
    from harness.paper.modules import switch_keys
    from harness.report.bootstrap import PerImageCache
    from harness.report.cells import Format
    from harness.report.mean_pose import location_delta
    from harness.report.rows import Row
    from harness.report.study_tables import trials_table
    from harness.tables.declaration import MODULE_BASELINE

    rng = np.random.default_rng(5)
    visible = rng.random((40, 16)) < 0.8

    def trial(name: str, seed: int, p: float):
        return _located_trial(tmp_path, rng, visible, name, seed, p)

    off = {k: False for k in switch_keys()}
    base = Row(1, {"dataset.name": "mpii_twin", **off}, [trial(f"b{s}", s, 0.3) for s in (0, 1)])
    full = Row(2, {"dataset.name": "mpii_twin", **{k: True for k in switch_keys()}},
               [trial(f"f{s}", s, 0.6) for s in (0, 1, 2)])
    n_boot = 300
    view = trials_table([base, full], "Mean", Format(digits=2), None, PerImageCache(), n_boot, MODULE_BASELINE)
    assert view.header[-2] == "− comparison row, same seed [95% CI]" and view.notes
    cell = {line[0].text: line[-2] for line in view.body}
    assert cell["b0"].text == cell["b1"].text == "" and cell["f2"].text == ""  # no mate of seed 2
    for s in (0, 1):
        f, b = full.trials[s], base.trials[s]
        d = location_delta([f], [b], "Mean", PerImageCache(), n_boot)
        assert d.delta == pytest.approx(f.metrics["Mean"] - b.metrics["Mean"]) and d.lo < d.delta < d.hi
        assert cell[f"f{s}"].text == Format(digits=2).interval(d.delta, d.lo, d.hi) + " *"  # 0.6 vs 0.3: excludes 0
    without = trials_table([base, full], "Mean", Format(digits=2), None, PerImageCache(), n_boot)
    assert "− comparison row, same seed [95% CI]" not in without.header  # no comparison given: no column


def _chain_flat(**on) -> dict:
    """A flattened Table 5 config of the COCO twin with the named switches on (spe, reppg, pdc)
    and each module's own settings as readings_seeds38 sets them (read only where it is on)."""
    flat = {"dataset.name": "coco_twin", "dataset.kind": "coco", "model.spe": False, "model.multi_scale": False,
            "model.reppg": False, "model.pdc": False, "model.beta": 0.1, "model.spe_position": "decoder",
            "model.keypoint_vector_gradient": "through", "schedule.lr": 0.001}
    flat.update({f"model.{k}": v for k, v in on.items()})
    if flat["model.spe"]:
        flat["model.spe_position"] = "encoder"
    if flat["model.reppg"]:
        flat["model.keypoint_vector_gradient"] = "stopped"
    if flat["model.pdc"]:
        flat["model.beta"] = 0.001
    return flat


def test_the_row_one_module_fewer_is_found_by_switches_and_settings_the_module_does_not_read():
    """Table 5's chain (baseline, + SPE, + SPE + RePPG, full LOFR at beta 0.001): each row's step is
    the row above it and the module it adds, though the module's own settings differ between the
    two (beta 0.001 against an unread 0.1); another setting, or a missing row, gives none."""
    from harness.report.rows import Row, module_step

    base, spe = Row(1, _chain_flat()), Row(2, _chain_flat(spe=True))
    reppg, lofr = Row(3, _chain_flat(spe=True, reppg=True)), Row(4, _chain_flat(spe=True, reppg=True, pdc=True))
    rows = [base, spe, reppg, lofr]
    steps = {r.number: module_step(r, rows) for r in rows}
    assert steps[1] is None
    assert [(s[0].number, s[1].name) for s in (steps[2], steps[3], steps[4])] == [(1, "SPE"), (2, "RePPG"), (3, "PDC")]
    # readings_seeds37's rows (no LOFR without PDC): full LOFR has no row one module fewer
    assert module_step(lofr, [base, spe, lofr]) is None
    # the latest module whose row is there: without PDC absent, without RePPG present
    spe_pdc = Row(5, _chain_flat(spe=True, pdc=True))
    found = module_step(lofr, [base, spe, spe_pdc, lofr])
    assert (found[0].number, found[1].name) == (5, "RePPG")
    # another lr is another experiment, not a module's step
    other = Row(6, {**_chain_flat(spe=True, reppg=True), "schedule.lr": 0.002})
    assert module_step(lofr, [base, spe, other, lofr]) is None


def test_the_study_table_reads_each_module_against_the_row_above_it_with_the_seeds_t_interval(tmp_path):
    """The column the readings studies read by hand (experiments/readings/seeds.py): this row's
    PCK@0.1 minus that of the row one module fewer, its seeds' 95 % t interval (the quantile
    written out, 3 df) and the module's name under the value; absent where every step is the
    baseline comparison (the baseline's Δ column says it already)."""
    from harness.report.bootstrap import PerImageCache
    from harness.report.cells import Format
    from harness.report.loading import Reference
    from harness.report.rows import Row
    from harness.report.study_tables import study_table
    from harness.tables import TABLES

    rng = np.random.default_rng(7)
    visible = rng.random((30, 17)) < 0.8
    hits = {1: (0.40, 0.45, 0.42, 0.38), 2: (0.41, 0.40, 0.44, 0.37), 3: (0.36, 0.42, 0.40, 0.41),
            4: (0.45, 0.43, 0.47, 0.40)}
    switches = {1: {}, 2: {"spe": True}, 3: {"spe": True, "reppg": True}, 4: {"spe": True, "reppg": True, "pdc": True}}
    rows = []
    for number, ps in hits.items():
        trials = []
        for seed, p in enumerate(ps):
            t = _located_trial(tmp_path, rng, visible, f"r{number}s{seed}", seed, p)
            t.metrics["PCK@0.1"] = t.metrics.pop("Mean")
            trials.append(t)
        rows.append(Row(number, _chain_flat(**switches[number]), trials))
    ref = Reference("coco_twin", "coco", "val", {"AP": 0.0, "PCK@0.1": 0.2})
    fmt = Format(digits=2)
    table = study_table(TABLES["table5"], rows, ref, fmt, PerImageCache(), "Table 5", bootstrap_n=200)
    header = table.view.header
    column = header.index("Δ PCK@0.1, the row's own module [95% CI]")
    cells = [line[column] for line in table.view.body]
    assert cells[0].text == ""
    for number, name, above in ((2, "SPE", 1), (3, "RePPG", 2), (4, "PDC", 3)):
        gaps = [a.metrics["PCK@0.1"] - b.metrics["PCK@0.1"] for a, b in zip(rows[number - 1].trials, rows[above - 1].trials)]
        half = 3.182446305284263 * np.std(gaps, ddof=1) / np.sqrt(4)  # t(0.975, 3 df)
        cell = cells[number - 1]
        assert cell.text.startswith(fmt.signed(np.mean(gaps)))
        assert cell.sub.startswith(f"{name} over #{above}; seeds [{fmt.signed(np.mean(gaps) - half)}, "
                                   f"{fmt.signed(np.mean(gaps) + half)}]")
    assert any("the row's own module" in note for note in table.view.notes)
    # baseline and SPE row alone: the step is the baseline comparison, no column
    two = study_table(TABLES["table5"], rows[:2], ref, fmt, PerImageCache(), "Table 5", bootstrap_n=200)
    assert not any("own module" in h for h in two.view.header)
