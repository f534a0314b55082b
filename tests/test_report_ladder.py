"""The localisation ladder in the report (issue 16, sections 2-3), each figure computed another way:
the intervals against the mean pose (`location_vs_reference` on the same arrays), the mark that
follows the interval, the first failing link per study, the error-category fractions, the curves'
values, and results without the ladder (older runs)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_report import Page
from test_report_fixture import (CHANCE_MAP, MPII_MEAN_JOINTS, SWITCH_ROWS, TABLE5_GAIN, config, ladder_fields,
                                 make_results, trial_id, with_ladder)

from harness.evaluation.per_image import location_vs_reference, save_per_image
from harness.report import build_report

READOUT_KEYS = {"responses": "loc_correct", "cams": "cams_loc_correct", "product": "product_loc_correct"}
CATEGORIES = ("good", "jitter", "inversion", "swap", "miss")


def pp(v: float) -> str:
    """A fraction as the report writes a signed difference: percentage points, 2 decimals, − sign."""
    text = f"{abs(100 * v):.2f}"
    return ("−" if v < 0 and text != "0.00" else "+") + text


def _completed_dirs(results: Path, row: int) -> list[Path]:
    out = []
    for seed in range(3):
        tdir = results / trial_id(config("mpii_twin", SWITCH_ROWS[row - 1], seed))
        path = tdir / "metrics.json"
        if path.is_file() and json.loads(path.read_text())["status"] == "completed":
            out.append(tdir)
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("ladder")
    results = make_results(root / "results")
    index = build_report(results, root / "out")
    return results, index.parent


def _column(table: dict, header: str) -> list[str]:
    i = table["head"][0].index(header)
    return [r[i] for r in table["body"]]


def test_intervals_shown_are_location_vs_reference_on_the_same_arrays(built):
    results, out = built
    page = Page((out / "study-table5.html").read_text())
    ladder, table = page.table("Localisation ladder"), page.table("Table 5")
    ref = np.load(results / "references" / "mpii_twin.npz")
    point_above_interval_not = 0
    for row in range(1, 9):
        seeds = [np.load(d / "per_image.npz") for d in _completed_dirs(results, row)]
        for readout, key in READOUT_KEYS.items():
            d, lo, hi = location_vs_reference(np.stack([s[key] for s in seeds]), ref["loc_correct"], ref["loc_visible"],
                                              n=1000, seed=0)
            cell = _column(ladder, f"{readout} − mean pose [95% CI]")[row - 1]
            assert cell.startswith(f"{pp(d)} [{pp(lo)}, {pp(hi)}]"), (row, readout, cell)
            assert ("not above" in cell) == (lo <= 0)
            point_above_interval_not += d > 0 and lo <= 0
            if readout == "responses":
                # the results table shows the same interval, and its mark follows it
                assert _column(table, "Mean − mean pose [95% CI]")[row - 1] == cell
                assert ("not above the mean pose" in _column(table, "seeds")[row - 1]) == (lo <= 0)
        # the point estimate is the mean over seeds of the metric each trial recorded, minus the mean pose's
        recorded = [json.loads((d / "metrics.json").read_text())["readouts"]["cams"]["Mean"]
                    for d in _completed_dirs(results, row)]
        reference = json.loads((results / "references" / "mpii_twin.json").read_text())["metrics"]["Mean"]
        assert _column(ladder, "cams − mean pose [95% CI]")[row - 1].startswith(pp(np.mean(recorded) - reference))
    assert point_above_interval_not >= 1  # the fixture has a row above on its point but not on its interval


def test_each_trial_is_judged_by_its_own_interval(built):
    results, out = built
    trials = Page((out / "study-table5.html").read_text()).table("Trials")
    by_id = {r[0]: r for r in trials["body"]}
    ref = np.load(results / "references" / "mpii_twin.npz")
    above = judged = 0
    for row in range(1, 9):
        for tdir in _completed_dirs(results, row):
            per = np.load(tdir / "per_image.npz")
            d, lo, hi = location_vs_reference(per["loc_correct"], ref["loc_correct"], ref["loc_visible"],
                                              n=1000, seed=0)
            line = by_id[tdir.name]
            assert line[5].startswith(f"{pp(d)} [{pp(lo)}, {pp(hi)}]")
            assert ("has not learned to localise" in line[-1]) == (lo <= 0)
            above, judged = above + (lo > 0), judged + 1
    refs = Page((out / "index.html").read_text()).table("The training set's mean pose")
    line = next(r for r in refs["body"] if r[0] == "mpii_twin")
    assert line[-1] == f"{above} of {judged}"


def _hand_folder(root: Path, studies: dict[str, list[dict]]) -> Path:
    """A results folder on one MPII-kind dataset of 40 images with 10 scored joints each, and a
    mean pose that gets exactly 3 of them right in every image (0.30). Each study lists rows:
    {"correct": per-image responses counts, "cams": cams counts, "gain": cnn gain or None (no
    ladder recorded), "regime": supervision regime}; one seed each."""
    n = 40
    visible = np.zeros((n, 16), bool)
    visible[:, MPII_MEAN_JOINTS[:10]] = True

    def arrays(correct: np.ndarray) -> dict:
        hits = np.zeros((n, 16), bool)
        for i, c in enumerate(correct):
            hits[i, MPII_MEAN_JOINTS[:c]] = True
        return {"kind": np.array("mpii"), "image_ids": np.arange(n), "correct": hits, "correct01": hits,
                "visible": visible, "loc_correct": np.asarray(correct), "loc_visible": np.full(n, 10)}

    (root / "references").mkdir(parents=True)
    save_per_image(root / "references" / "hand.npz", arrays(np.full(n, 3)))
    (root / "references" / "hand.json").write_text(json.dumps(
        {"dataset": "hand", "kind": "mpii", "split": "val", "metrics": {"Mean": 0.3}}))
    index = {"matrix": "hand", "scale": "smoke", "source": "hand.yaml", "studies": {}, "trials": {}}
    for s, (study, rows) in enumerate(studies.items()):
        index["studies"][study] = {"table": "table5", "title": study, "trials": []}
        for r, spec in enumerate(rows):
            cfg = config("hand", SWITCH_ROWS[r], 0, enc_layers=s + 1)
            cfg["supervision"]["regime"] = spec.get("regime", "location_free")
            tid = trial_id(cfg)
            index["studies"][study]["trials"].append(tid)
            index["trials"][tid] = {"studies": [study], "config": cfg}
            per_image = dict(arrays(np.asarray(spec["correct"])), cams_loc_correct=np.asarray(spec["cams"]),
                             product_loc_correct=np.asarray(spec["correct"]))
            (root / tid).mkdir()
            save_per_image(root / tid / "per_image.npz", per_image)
            result = {"status": "completed", "config": cfg, "metrics": {"Mean": float(np.sum(spec["correct"]) / 400)},
                      "curve": [{"epoch": 1, "losses": {"cls": 1.0}, "total": 1.0, "val": {}}]}
            if spec["gain"] is not None:
                fields = ladder_fields(per_image, spec["gain"], np.random.default_rng(r))
                result = with_ladder(result, fields)
            (root / tid / "metrics.json").write_text(json.dumps(result))
    (root / "index.json").write_text(json.dumps(index))
    return root


ABOVE = [6] * 40  # 0.60 everywhere: above the mean pose on every resample
BELOW = [1] * 40
ONE_MORE = [4] + [3] * 39  # one joint more than the mean pose in one image: +0.0025, but 0 on most resamples


def test_the_mark_follows_the_interval_not_the_point_estimate(tmp_path):
    results = _hand_folder(tmp_path / "r", {"s": [{"correct": ONE_MORE, "cams": ABOVE, "gain": 0.9},
                                                  {"correct": ABOVE, "cams": ABOVE, "gain": 0.9}]})
    out = tmp_path / "out"
    build_report(results, out)
    page = Page((out / "study-s.html").read_text())
    d, lo, hi = location_vs_reference(np.array(ONE_MORE), np.full(40, 3), np.full(40, 10), n=1000, seed=0)
    assert d == pytest.approx(0.0025) and lo <= 0 < hi  # above on its point estimate, not on its interval
    table = page.table("Table 5")
    assert _column(table, "PCKh Mean")[0].startswith("30.25")  # above the mean pose's 30.00 ...
    assert _column(table, "Mean − mean pose [95% CI]")[0] == f"+0.25 [{pp(lo)}, {pp(hi)}] not above"
    assert "not above the mean pose" in _column(table, "seeds")[0]  # ... yet marked: the interval decides
    assert "not above the mean pose" not in _column(table, "seeds")[1]
    trials = page.table("Trials")["body"]
    assert "has not learned to localise" in trials[0][-1] and "has not learned" not in trials[1][-1]
    ladder = page.table("Localisation ladder")
    assert _column(ladder, "first link to fail") == ["3: the paper's output 1✓ 2✓ 3✗", "none 1✓ 2✓ 3✓"]


def test_the_first_failing_link_of_each_study(tmp_path):
    studies = {
        "classifier": [{"correct": ABOVE, "cams": ABOVE, "gain": 0.2},  # breaks at 1 (the rest holds)
                       {"correct": BELOW, "cams": BELOW, "gain": 0.9}],  # breaks at 2
        "cams": [{"correct": ABOVE, "cams": BELOW, "gain": 0.5},  # gain exactly at the bar: link 1 holds
                 {"correct": BELOW, "cams": ONE_MORE, "gain": 0.7}],
        "responses": [{"correct": ONE_MORE, "cams": ABOVE, "gain": 0.6}],
        "holds": [{"correct": ABOVE, "cams": ABOVE, "gain": 0.6}, {"correct": ABOVE, "cams": ABOVE, "gain": 0.99}],
        "supervised": [{"correct": ABOVE, "cams": BELOW, "gain": 0.1, "regime": "full"},
                       {"correct": BELOW, "cams": BELOW, "gain": 0.1, "regime": "sup_only"}],
        "old": [{"correct": ABOVE, "cams": ABOVE, "gain": None}],
    }
    results = _hand_folder(tmp_path / "r", studies)
    out = tmp_path / "out"
    build_report(results, out)
    ladder = Page((out / "index.html").read_text()).table("The localisation ladder")
    head = ladder["head"][0]
    by_study = {r[0]: dict(zip(head, r)) for r in ladder["body"]}
    c = by_study["classifier"]
    assert (c["1: gain ≥ 0.5"], c["2: cams > mean pose"], c["3: responses > mean pose"]) == \
        ("1 of 2", "1 of 2", "1 of 2")
    assert c["first link to fail"] == ("1: the classifier (cnn gain ≥ 0.5 fails). Each row's first failure: "
                                       "link 1 in 1 row, link 2 in 1 row")
    assert by_study["cams"]["1: gain ≥ 0.5"] == "2 of 2" and by_study["cams"]["first link to fail"].startswith(
        "2: the CAMs (cams above the mean pose fails). Each row's first failure: link 2 in 2 rows")
    assert by_study["responses"]["first link to fail"].startswith("3: the paper's output")
    assert by_study["holds"]["first link to fail"] == "none: every location-free row passes all three links"
    sup = by_study["supervised"]
    assert sup["location-free rows"] == "0" and sup["first link to fail"].startswith("no location-free row")
    assert sup["rows given locations"] == "2, given locations (1 above the mean pose)"
    assert by_study["old"]["first link to fail"] == "no ladder recorded"
    # each study's line links to its ladder table (the old one to its dataset section)
    page = Page((out / "study-cams.html").read_text())
    assert any(link.startswith("study-cams.html#") and link.split("#")[1] in page.ids
               for link in Page((out / "index.html").read_text()).links)
    rows = Page((out / "study-supervised.html").read_text()).table("Localisation ladder")
    assert _column(rows, "locations") == ["given (full)", "given (sup_only)"]
    assert _column(rows, "first link to fail")[0].startswith("given locations")


def test_error_category_fractions_are_the_seeds_mean(built, tmp_path, monkeypatch):
    results, out = built
    table = Page((out / "study-table5.html").read_text()).table("Keypoint error categories")
    assert table["head"][0] == ["#", "row"] + list(CATEGORIES)
    by_hand = {}
    for row in range(1, 9):
        recorded = [json.loads((d / "metrics.json").read_text())["errors"]["overall"]
                    for d in _completed_dirs(results, row)]
        by_hand[row] = {c: float(np.mean([e[c] for e in recorded])) for c in CATEGORIES}
        shown = table["body"][row - 1][2:]
        assert shown == [f"{100 * by_hand[row][c]:.2f}" for c in CATEGORIES]
        assert sum(by_hand[row].values()) == pytest.approx(1.0)
    # the stacked bars draw exactly these fractions, row after row
    import harness.report.ladder_view as view  # where the page draws them from

    drawn = []
    real = view.plot_error_bars
    monkeypatch.setattr(view, "plot_error_bars", lambda rows, cats, path: drawn.append((rows, cats)) or
                        real(rows, cats, path))
    build_report(results, tmp_path / "again")
    rows, cats = drawn[0]
    assert cats == CATEGORIES and len(rows) == 8
    for number, (label, fractions) in enumerate(rows, start=1):
        assert label.startswith(f"#{number} ")
        assert fractions == pytest.approx(by_hand[number])


def test_ladder_cells_and_curves_read_the_records(built):
    results, out = built
    page = Page((out / "study-table5.html").read_text())
    ladder = page.table("Localisation ladder")
    for row in range(1, 9):
        gains = [TABLE5_GAIN[row - 1] + 0.01 * int(json.loads((d / "metrics.json").read_text())["config"]["seed"])
                 for d in _completed_dirs(results, row)]
        m_ap = CHANCE_MAP + np.mean(gains) * (1 - CHANCE_MAP)
        assert _column(ladder, "cnn mAP / chance")[row - 1] == \
            f"{100 * m_ap:.2f} / {100 * CHANCE_MAP:.2f} gain {np.mean(gains):.2f}"
    assert _column(ladder, "first link to fail")[0] == "1: the classifier 1✗ 2✗ 3✗"  # gain 0.30, below the bar
    assert ladder["foot"][0][0] == "mean pose"
    srcs = [link for link in page.links if link.endswith(".png")]
    assert any(s.endswith("-ladder-curves.png") for s in srcs) and any(s.endswith("-errors.png") for s in srcs)
    from harness.record import HEADS, READOUTS
    from harness.report.figures.ladder import ladder_panels

    entry = {"epoch": 3, "val": {"Mean": 0.4}, "ladder": {"mAP": {"cnn": 0.8, "encoder": 0.7, "decoder": 0.75},
                                                         "readouts": {"responses": 0.4, "cams": 0.2, "product": 0.3,
                                                                      "token_scores": 0.25}}}
    panels = ladder_panels("Mean", READOUTS, HEADS)
    assert [get(entry) for _, get in panels] == [0.4, 0.2, 0.3, 0.25, 0.8, 0.7, 0.75]
    older = {"epoch": 3, "val": {"Mean": 0.4}}  # a curve from before the ladder: only the paper's read-out
    assert [get(older) for _, get in panels] == [0.4, None, None, None, None, None, None]


def test_results_without_the_ladder_still_render(built, tmp_path):
    """Every trial's metrics.json stripped of the ladder, and the reference without its per-image arrays
    (results from before issue 16): the pages render, say "no ladder recorded", and the mark falls back
    to the point estimate."""
    results = make_results(tmp_path / "results")
    (results / "references" / "mpii_twin.npz").unlink()
    for path in results.glob("*/metrics.json"):
        data = json.loads(path.read_text())
        for key in ("classification", "readouts", "errors"):
            data.pop(key, None)
        for entry in data.get("curve", []):
            entry.pop("ladder", None)
        path.write_text(json.dumps(data))
    out = tmp_path / "out"
    build_report(results, out)
    text = (out / "study-table5.html").read_text()
    assert "No ladder recorded" in text and "Localisation ladder —" not in text
    index = Page((out / "index.html").read_text()).table("The localisation ladder")
    assert all(r[6] == "no ladder recorded" for r in index["body"])
    table = Page(text).table("Table 5")
    for cell, status in zip(_column(table, "Mean − mean pose [95% CI]"), _column(table, "seeds")):
        assert "no CI" in cell
        assert ("not above the mean pose" in status) == cell.startswith("−")
