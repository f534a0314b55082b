"""The HTML report from a hand-made results folder (tests/test_report_fixture.py): links, escaping,
failed/missing trials, statistics recomputed here, factorial effects, the paper's numbers beside
full-scale rows, bad input. The table declarations themselves: tests/test_tables.py."""
from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import product
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from scipy import stats
from test_report_fixture import (FAIL_ERROR, FAILED, MISSING, SWITCH_ROWS, config, make_full_scale,
                                 make_results, trial_id)

from harness.errors import UserError
from harness.evaluation.per_image import load_per_image, paired_bootstrap
from harness.paper.modules import MODULES
from harness.report import build_report
from harness.report.bootstrap import sd_interval, seed_paired_bootstrap, seeds_for_half_width
from harness.report.factorial import cells_of, factorial_effects
from harness.report.figures import curves as curves_figure
from harness.report.figures import maps as maps_figure
from harness.report.figures import prototypes as prototypes_figure
from harness.report import study_figures
from harness.report.rows import Row, figure_label, flatten, short_label
from harness.report.study_figures import FigureWriter, _map_rows
from harness.tables.labels import method_label
from harness.tables.readings import READINGS as READINGS_TABLE
from harness.tables.table5 import TABLE5

CELLS = cells_of(4)
FACTORS = ("SPE", "MS", "RePPG", "PDC")


class Page(HTMLParser):
    """Tables (caption, header, body and foot rows of cell texts), links, ids and raw tags of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: list[dict] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self._section = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if key in a:
                self.links.append(a[key])
        if tag == "table":
            self.tables.append({"caption": "", "head": [], "body": [], "foot": []})
        elif tag in ("thead", "tbody", "tfoot"):
            self._section = {"thead": "head", "tbody": "body", "tfoot": "foot"}[tag]
        elif tag == "tr" and self.tables and self._section:
            self.tables[-1][self._section].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "caption":
            self._caption = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][self._section][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "caption" and self._caption is not None:
            self.tables[-1]["caption"] = "".join(self._caption).strip()
            self._caption = None
        elif tag in ("thead", "tbody", "tfoot"):
            self._section = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._caption is not None:
            self._caption.append(data)

    def table(self, caption_start: str) -> dict:
        found = [t for t in self.tables if t["caption"].startswith(caption_start)]
        assert found, f"no table whose caption starts with {caption_start!r}"
        return found[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    results = make_results(root / "results")
    index = build_report(results, root / "out")
    return results, index


def _pages(out: Path) -> dict[str, Page]:
    return {p.name: Page(p.read_text()) for p in sorted(out.glob("*.html"))}


def _row_metrics(results: Path, row: int, key: str = "Mean") -> list[float]:
    values = []
    for seed in range(3):
        path = results / trial_id(config("mpii_twin", SWITCH_ROWS[row - 1], seed)) / "metrics.json"
        if path.is_file():
            data = json.loads(path.read_text())
            if data["status"] == "completed":
                values.append(data["metrics"][key])
    return values


def test_index_links_every_study_and_every_link_resolves(built):
    results, index = built
    out = index.parent
    pages = _pages(out)
    study_links = {unquote(urlparse(h).path) for h in pages["index.html"].links if h.startswith("study-")}
    assert study_links == {p for p in pages if p.startswith("study-")}
    assert len(study_links) == 3  # table5, datasets, factorial
    n_images = 0
    for name, page in pages.items():
        for link in page.links:
            url = urlparse(link)
            assert not url.scheme and not url.netloc and not link.startswith("/"), f"{name}: {link} is not relative"
            if url.path:
                assert (out / unquote(url.path)).is_file(), f"{name}: {link} does not resolve"
                n_images += url.path.endswith(".png")
            if url.fragment:
                target = pages[unquote(url.path)] if url.path else page
                assert url.fragment in target.ids, f"{name}: anchor {link} does not exist"
    assert n_images >= 15  # curves, Fig. 5/6/7/8, factorial effects


def test_script_in_results_is_shown_as_text(built):
    _, index = built
    out = index.parent
    seen = 0
    for page in out.glob("*.html"):
        text = page.read_text()
        assert "<script" not in text.lower(), f"{page.name} has a raw script tag"
        assert "script" not in Page(text).tags
        seen += "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert seen >= 3  # the datasets page, the index (dataset name) and the cost page


def test_failed_and_missing_trials_are_shown_with_their_error(built):
    results, index = built
    page = Page((index.parent / "study-table5.html").read_text())
    trials = page.table("Trials")["body"]
    failed_id = trial_id(config("mpii_twin", SWITCH_ROWS[FAILED[0] - 1], FAILED[1]))
    missing_id = trial_id(config("mpii_twin", SWITCH_ROWS[MISSING[0] - 1], MISSING[1]))
    by_id = {r[0]: r for r in trials}
    assert len(trials) == 24  # every seed of every row, none dropped
    assert by_id[failed_id][3] == "failed"
    assert by_id[failed_id][-1] == FAIL_ERROR.splitlines()[0]  # first line only
    assert by_id[missing_id][3] == "missing" and "no metrics.json" in by_id[missing_id][-1]
    rows = page.table("Table 5")["body"]
    assert "1 failed" in rows[FAILED[0] - 1][-1] and "1 missing" in rows[MISSING[0] - 1][-1]
    cost_table = Page((index.parent / "cost.html").read_text()).table("Cost per trial")
    cost_by_id = {r[0]: r for r in cost_table["body"]}
    assert cost_by_id[failed_id][4] == "failed" and cost_by_id[failed_id][-1] == FAIL_ERROR.splitlines()[0]
    assert cost_by_id[missing_id][4] == "missing"
    wait = cost_table["head"][0].index("data wait (%)")  # the fixture's cost.data_wait_fraction 0.125
    assert {r[wait] for r in cost_table["body"] if r[4] == "completed"} == {"12.5"}
    assert cost_by_id[failed_id][wait] == ""


def test_mean_std_and_n_of_a_row(built):
    results, index = built
    rows = Page((index.parent / "study-table5.html").read_text()).table("Table 5")["body"]
    assert len(rows) == 8
    for row in (2, FAILED[0]):
        values = np.array(_row_metrics(results, row))
        expected = f"{100 * values.mean():.2f} ± {100 * values.std(ddof=1):.2f} n={len(values)}"
        assert rows[row - 1][5] == expected  # '#', 4 check marks, then PCKh Mean
    assert rows[FAILED[0] - 1][5].endswith("n=2")
    assert [r[1:5] for r in rows][1] == ["✓", "", "", ""]


def test_bootstrap_delta_is_the_difference_of_means_and_inside_its_interval(built):
    results, index = built
    rows = Page((index.parent / "study-table5.html").read_text()).table("Table 5")["body"]
    spe, base = np.array(_row_metrics(results, 2)), np.array(_row_metrics(results, 1))
    cell, seeds_text = rows[1][7].split(" seeds ")
    delta_text, interval = cell.split(" [")
    lo_text, hi_text = interval.split("]")[0].split(", ")
    num = lambda s: float(s.replace("−", "-"))
    assert num(delta_text) == pytest.approx(100 * (spe.mean() - base.mean()), abs=0.005)
    assert num(lo_text) <= num(delta_text) <= num(hi_text)
    assert cell.endswith("*") and num(lo_text) > 0  # a large effect: the interval excludes zero
    # under it, the seeds' t interval on the per-seed gaps (2 df; the quantile written out), as the
    # location Δ carries: the image interval says nothing about training again
    gaps = 100 * (spe - base)
    half = 4.302652729911275 * gaps.std(ddof=1) / np.sqrt(3)
    starred = seeds_text.endswith(" *")
    seeds_lo, seeds_hi = (num(v) for v in seeds_text.removesuffix(" *").strip("[]").split(", "))
    assert (seeds_lo, seeds_hi) == pytest.approx((gaps.mean() - half, gaps.mean() + half), abs=0.005)
    assert starred == (seeds_lo > 0 or seeds_hi < 0)  # the seeds' interval has its own star
    assert rows[FAILED[0] - 1][7].split("; ")[0].endswith("no CI")  # two paired seeds: no image interval
    assert " seeds [" in rows[FAILED[0] - 1][7]  # but a t interval over the 2 seeds (1 df)
    assert rows[0][7] == ""  # the baseline has no difference to itself


def test_seed_paired_bootstrap_matches_the_evaluation_helper(built):
    results, _ = built
    load = lambda r, s: load_per_image(results / trial_id(config("mpii_twin", SWITCH_ROWS[r - 1], s)) / "per_image.npz")
    one = [(load(1, 0), load(2, 0))]
    assert seed_paired_bootstrap(one, n=200, seed=3) == paired_bootstrap(*one[0], n=200, seed=3)
    pairs = [(load(1, s), load(2, s)) for s in range(3)]
    delta, lo, hi = seed_paired_bootstrap(pairs, n=300, seed=0)
    singles = [paired_bootstrap(a, b, n=10)[0] for a, b in pairs]
    assert delta == pytest.approx(np.mean(singles), abs=1e-12)
    assert lo < delta < hi


def test_rows_below_the_mean_pose_reference_are_marked(built):
    """Rows far below the mean pose are marked (how the mark follows the interval: test_report_ladder.py)."""
    results, index = built
    reference = json.loads((results / "references" / "mpii_twin.json").read_text())["metrics"]["Mean"]
    rows = Page((index.parent / "study-table5.html").read_text()).table("Table 5")["body"]
    for number, row in enumerate(rows, start=1):
        if abs(np.mean(_row_metrics(results, number)) - reference) > 0.1:
            assert ("not above the mean pose" in row[-1]) == (np.mean(_row_metrics(results, number)) < reference)
    assert "not above the mean pose" in rows[0][-1]
    foot = Page((index.parent / "study-table5.html").read_text()).table("Table 5")["foot"]
    assert foot[0][0] == "mean-pose reference" and foot[0][1] == f"{100 * reference:.2f}"


def test_factorial_effects_recovered_by_hand():
    cells = {c: [0.3 + 0.1 * c[0] + 0.05 * c[2] * c[3]] for c in CELLS}
    r = factorial_effects(cells, FACTORS)
    main = {e.name: e.estimate for e in r.main}
    inter = {e.name: e.estimate for e in r.interactions}
    assert main["SPE"] == pytest.approx(0.1) and main["MS"] == pytest.approx(0.0, abs=1e-12)
    assert main["RePPG"] == pytest.approx(0.025) and main["PDC"] == pytest.approx(0.025)
    assert inter["RePPG × PDC"] == pytest.approx(0.025)
    assert all(abs(v) < 1e-12 for k, v in inter.items() if k != "RePPG × PDC")
    cond = {(c.factor, c.given): c for c in r.conditionals}
    assert cond[("RePPG", "PDC")].when_on.estimate == pytest.approx(0.05)
    assert cond[("RePPG", "PDC")].when_off.estimate == pytest.approx(0.0, abs=1e-12)
    assert all(e.lo is None for e in r.main)  # one seed: point estimates
    # Two seeds at ±d: the pooled within-cell sd is d*sqrt(2); SE = sd / (2 sqrt(2)); df = 16.
    d = 0.01
    r2 = factorial_effects({c: [v[0] + d, v[0] - d] for c, v in cells.items()}, FACTORS)
    spe = r2.main[0]
    half = 2.1199 * d * np.sqrt(2) / (2 * np.sqrt(2))  # t(0.975, 16) from a printed t table
    assert spe.estimate == pytest.approx(0.1) and spe.hi - spe.estimate == pytest.approx(half, rel=1e-4)
    with pytest.raises(ValueError):
        factorial_effects({c: v for c, v in cells.items() if c != CELLS[0]}, FACTORS)


def test_seeds_for_a_half_width_is_the_first_n_whose_t_interval_fits():
    """seeds_for_half_width: by hand, sd = h = 1 needs 7 seeds (t(0.975, 6) / sqrt(7) = 0.925,
    t(0.975, 5) / sqrt(6) = 1.050); in general the answer fits and one seed fewer does not, and
    it is at least the normal approximation's (1.96 sd / h)^2, which no t interval beats."""
    assert seeds_for_half_width(1.0, 1.0) == 7
    for sd, h in [(0.032, 0.01), (0.045, 0.01), (0.016, 0.01), (0.2, 0.01), (0.5, 0.3)]:
        n = seeds_for_half_width(sd, h)
        assert stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) <= h
        assert n == 2 or stats.t.ppf(0.975, n - 2) * sd / np.sqrt(n - 1) > h
        assert n >= (1.959963984540054 * sd / h) ** 2
    assert seeds_for_half_width(0.0, 0.01) == 2
    assert seeds_for_half_width(1.0, 0.001, most=100) is None
    with pytest.raises(ValueError):
        seeds_for_half_width(0.03, 0.0)


def test_sd_interval_is_the_chi_square_one_and_covers_the_true_sd_95_percent_of_the_time():
    """sd_interval: with 3 values (2 df) the chi-square quantiles have a closed form, -2 ln(1 - p),
    so the ends are sd * sqrt(2 / (-2 ln 0.025)) and sd * sqrt(2 / (-2 ln 0.975)) (0.52 and 6.28
    times sd); for 6 values the printed table's quantiles (chi2 5 df: 0.8312, 12.8325); and over
    20,000 draws of 4 normal values the interval holds the true SD in 95 +- 0.6 % of them."""
    low, high = sd_interval(0.009, 3)
    assert low == pytest.approx(0.009 * np.sqrt(2 / (-2 * np.log(0.025))))
    assert high == pytest.approx(0.009 * np.sqrt(2 / (-2 * np.log(0.975))))
    assert sd_interval(1.0, 6) == pytest.approx((np.sqrt(5 / 12.8325), np.sqrt(5 / 0.8312)), rel=1e-4)
    rng = np.random.default_rng(3)
    draws = rng.normal(0.0, 2.0, size=(20_000, 4))
    held = [lo <= 2.0 <= hi for lo, hi in (sd_interval(float(s), 4) for s in draws.std(axis=1, ddof=1))]
    assert np.mean(held) == pytest.approx(0.95, abs=0.006)
    assert sd_interval(0.0, 5) == (0.0, 0.0)
    with pytest.raises(ValueError):
        sd_interval(0.01, 1)


def test_factorial_page_shows_effects(built):
    _, index = built
    page = Page((index.parent / "study-factorial.html").read_text())
    main = {r[0]: r[1] for r in page.table("Main effects")["body"]}
    assert main["SPE"].startswith("+10.00 [") and main["SPE"].endswith("*")
    assert main["MS"].startswith("+0.00 [")
    inter = {r[0]: r for r in page.table("Two-way interactions")["body"]}
    assert inter["RePPG × PDC"][1].startswith("+2.50 [")
    assert inter["RePPG × PDC"][3].startswith("+5.00 [")  # RePPG's effect with PDC on


def test_full_scale_sets_the_paper_beside_with_split_marked(tmp_path):
    out = tmp_path / "out"
    build_report(make_full_scale(tmp_path / "results"), out)
    text = (out / "study-table1.html").read_text()
    assert "NOT comparable" not in text
    page = Page(text)
    table = page.table("Beside the paper")
    header = table["head"][0]
    rows = {r[2].rstrip(" ‡"): r for r in table["body"]}
    hr48 = rows["Ours-LOFR HR48 256×192"]
    assert hr48[header.index("AP paper")] == "unknown" and hr48[header.index("AP .5 paper")] == "unknown"
    assert hr48[header.index("AP .75 paper")] == "56.7"
    # ours AP .75 = 0.53 -> 53.0; the paper's 56.7 is on test-dev, ours on val: marked.
    assert hr48[header.index("AP .75 paper") + 2] == "−3.7 †"
    assert rows["Baseline R50 256×192"][header.index("AP paper") + 2] == "−1.0 †"
    cost = Page((out / "cost.html").read_text()).table("Cost per trial")
    assert cost["foot"][0][1] == f"{2 * 7200 / 3600:.4f}"  # two trials of 2 h each on a GPU


def test_smoke_scale_says_the_paper_is_not_comparable(built):
    _, index = built
    text = (index.parent / "study-table5.html").read_text()
    assert "NOT comparable" in text and "Beside the paper" not in text


def test_same_results_same_report(built, tmp_path):
    results, index = built
    again = build_report(results, tmp_path / "again")
    first = sorted(p.relative_to(index.parent) for p in index.parent.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again.parent) for p in again.parent.rglob("*") if p.is_file())
    assert first == second
    for rel in first:
        assert (index.parent / rel).read_bytes() == (again.parent / rel).read_bytes(), rel


def test_bad_input_is_one_line_naming_the_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        build_report(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="index.json"):
        build_report(tmp_path / "empty", tmp_path / "out")
    results = make_results(tmp_path / "results")
    victim = results / trial_id(config("mpii_twin", SWITCH_ROWS[0], 0)) / "metrics.json"
    victim.write_text("{not json")
    with pytest.raises(UserError) as exc:
        build_report(results, tmp_path / "out")
    assert str(victim) in str(exc.value) and "\n" not in str(exc.value)
    victim.write_text(json.dumps({"metrics": {}}))
    with pytest.raises(UserError, match="status"):
        build_report(results, tmp_path / "out")
    victim.write_text(json.dumps({"status": "completed", "metrics": {"Mean": "high"}}))
    with pytest.raises(UserError, match="Mean"):
        build_report(results, tmp_path / "out")


def test_broken_per_image_file_is_bad_input(tmp_path):
    results = make_results(tmp_path / "results")
    victim = results / trial_id(config("mpii_twin", SWITCH_ROWS[1], 0)) / "per_image.npz"
    victim.write_bytes(b"not a zip")
    with pytest.raises(UserError) as exc:
        build_report(results, tmp_path / "out")
    assert str(victim) in str(exc.value)


def test_index_with_unsafe_trial_id_is_bad_input(tmp_path):
    (tmp_path / "r").mkdir()
    cfg = config("x", (0, 0, 0, 0), 0)
    (tmp_path / "r" / "index.json").write_text(json.dumps(
        {"matrix": "m", "scale": "smoke", "studies": {"s": {"table": "table5", "trials": ["../x"]}},
         "trials": {"../x": {"studies": ["s"], "config": cfg}}}))
    with pytest.raises(UserError, match="plain folder name"):
        build_report(tmp_path / "r", tmp_path / "out")


def test_stale_files_of_an_earlier_build_are_removed(built, tmp_path):
    results, _ = built
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "old.png").write_bytes(b"x")
    (out / "study-gone.html").write_text("old")
    (out / "notes.txt").write_text("mine")
    build_report(results, out)
    assert not (out / "figures" / "old.png").exists() and not (out / "study-gone.html").exists()
    assert (out / "notes.txt").read_text() == "mine"


REPO = Path(__file__).resolve().parents[1]


def test_report_of_the_real_smoke_matrix_index(tmp_path):
    """The configs of run_matrix.yaml at smoke scale (metrics made up): every study renders, links resolve."""
    from harness.layout import merge_index
    from harness.matrix import expand

    plan = expand(REPO / "run_matrix.yaml", scale="smoke")
    results = tmp_path / "results"
    merge_index(plan, results, {}, list(plan.studies))
    for i, t in enumerate(plan.trials):
        if i == 0:
            continue  # missing
        (results / t.id).mkdir()
        kind = t.config.dataset.kind
        metrics = {"Mean": 0.2 + 0.01 * i} if kind == "mpii" else {"AP": 0.1 + 0.01 * i, "AR": 0.2}
        result = {"status": "completed", "config": t.config.to_dict(), "metrics": metrics,
                  "curve": [{"epoch": 1, "losses": {"cls": 1.0}, "total": 1.0, "val": {}}]}
        (results / t.id / "metrics.json").write_text(json.dumps(result))
    out = tmp_path / "out"
    build_report(results, out)
    pages = _pages(out)
    assert {unquote(urlparse(h).path) for h in pages["index.html"].links if h.startswith("study-")} == \
        {f"study-{name}.html" for name in plan.studies}
    for name, page in pages.items():
        for link in page.links:
            path = urlparse(link).path
            assert not path or (out / unquote(path)).is_file(), f"{name}: {link}"
    by_study = plan.study_trials()
    for name, study in plan.studies.items():
        tables = [t for t in pages[f"study-{name}.html"].tables if t["caption"].startswith("Trials")]
        assert sum(len(t["body"]) for t in tables) == len(by_study[name])  # every trial listed
    assert len(pages["study-table5.html"].table("Table 5")["body"]) == 8
    assert len(pages["study-table6.html"].table("Table 6")["body"]) == 6


def _coco_row(number: int, spe: bool, pck: float, tmp_path: Path):
    from harness.report.loading import TrialRecord
    from harness.report.rows import Row
    flat = {"dataset.name": "coco_twin", "dataset.kind": "coco", "model.spe": spe, "model.multi_scale": False,
            "model.reppg": False, "model.pdc": False}
    trials = [TrialRecord(id=f"t{number}-{s}", config={}, studies=["s"], status="completed", dir=tmp_path / "none",
                          metrics={"AP": 0.0, "AR": 0.0, "PCK@0.1": pck + 0.01 * s}) for s in range(2)]
    return Row(number, flat, trials)


def test_coco_rows_are_judged_on_box_pck_when_the_reference_has_it(tmp_path):
    from harness.report.bootstrap import PerImageCache
    from harness.report.cells import Format
    from harness.report.loading import Reference
    from harness.report.study_tables import study_table, table4_pivot, trials_table
    from harness.tables import TABLES
    rows = [_coco_row(1, False, 0.50, tmp_path), _coco_row(2, True, 0.30, tmp_path)]
    ref = Reference("coco_twin", "coco", "val", {"AP": 0.0, "AR": 0.0, "PCK@0.1": 0.40})
    table = study_table(TABLES["table5"], rows, ref, Format(digits=2), PerImageCache(), "Table 5")
    assert "PCK@0.1" in table.view.header
    assert table.not_learning == {2}  # 0.505 > 0.40 learned; 0.305 did not, although AP ties at 0
    assert table.located == "PCK@0.1"
    pivot = table4_pivot(rows, table.summaries, table.located, Format(digits=2), "pivot")
    assert [line[2].text.split(" ±")[0] for line in pivot.body] == ["50.50", "30.50"]  # mean of the 2 seeds
    trials = trials_table(rows, table.located, Format(digits=2), ref, PerImageCache())
    assert trials.header[4] == "PCK@0.1"  # the per-trial list judges the same metric as the table
    # no per-image counts in these made-up trials: the point estimate decides, and the list says so
    assert ["not above the mean" in line[-1].text for line in trials.body] == [False, False, True, True]
    assert all("no CI" in line[5].sub for line in trials.body)
    old = Reference("coco_twin", "coco", "val", {"AP": 0.0, "AR": 0.0})  # a reference from before PCK@0.1
    assert study_table(TABLES["table5"], rows, old, Format(digits=2), PerImageCache(), "Table 5").not_learning == {1, 2}


def test_a_row_above_the_mean_pose_says_how_many_of_its_seeds_are_above_it_alone(tmp_path):
    """The row's mark pools its seeds; a seed that alone is not above the mean pose is counted in the
    seeds cell (before, "2/2 seeds" stood beside a trial the trials list flagged)."""
    from harness.report.bootstrap import PerImageCache
    from harness.report.cells import Format
    from harness.report.loading import Reference
    from harness.report.study_tables import study_table
    from harness.tables import TABLES
    # seeds 0.396 and 0.406 (mean 0.401) against 0.40; 0.50 / 0.51 both above; 0.30 / 0.31 both below
    rows = [_coco_row(1, False, 0.50, tmp_path), _coco_row(2, True, 0.396, tmp_path), _coco_row(3, True, 0.30, tmp_path)]
    rows[2].flat["model.multi_scale"] = True
    ref = Reference("coco_twin", "coco", "val", {"AP": 0.0, "AR": 0.0, "PCK@0.1": 0.40})
    table = study_table(TABLES["table5"], rows, ref, Format(digits=2), PerImageCache(), "Table 5")
    assert table.not_learning == {3}
    seeds = [line[-1] for line in table.view.body]
    assert [c.text for c in seeds] == ["2/2 seeds"] * 3
    assert seeds[0].sub == "" and "warn" not in seeds[0].cls
    assert seeds[1].sub == "⚠ seeds alone: 1 of 2 above the mean pose" and "warn" in seeds[1].cls
    assert seeds[2].sub == "⚠ not above the mean pose"  # the row's own mark, not the count


def test_a_module_parameter_is_shown_unread_in_rows_with_the_module_off(tmp_path):
    from harness.report.rows import Row
    from harness.report.study_tables import label_columns
    from harness.tables import TABLES
    base = {"dataset.name": "coco_twin", "dataset.kind": "coco", "model.spe": False, "model.multi_scale": False,
            "model.reppg": False}
    rows = [Row(1, {**base, "model.pdc": False, "model.beta": 0.1}, []),
            Row(2, {**base, "model.pdc": True, "model.beta": 0.001}, []),
            Row(3, {**base, "model.pdc": True, "model.beta": 0.1}, [])]
    column = dict(label_columns(TABLES["table5"], rows))["model.beta"]
    assert [column(r.flat) for r in rows] == ["– (PDC off)", "0.001", "0.1"]


def test_mpii_pckh_from_joints_is_marked_non_standard(tmp_path):
    """PCKh with head sizes estimated from the joints (or not recorded) is marked on the study page
    and on the index; once every trial and reference used mpii_gt_val.mat the mark is gone."""
    results = make_results(tmp_path / "results")
    build_report(results, tmp_path / "out")
    pages = _pages(tmp_path / "out")
    assert "Non-standard PCKh" in (tmp_path / "out" / "study-table5.html").read_text()
    assert "Non-standard PCKh" in (tmp_path / "out" / "index.html").read_text()
    for path in [*results.glob("*/metrics.json"), *results.glob("references/*.json")]:
        data = json.loads(path.read_text())
        data["evaluation"] = {"head_size_source": "mat"}
        path.write_text(json.dumps(data))
    build_report(results, tmp_path / "standard")
    assert not any("Non-standard PCKh" in p.read_text() for p in (tmp_path / "standard").glob("*.html"))
    assert len(_pages(tmp_path / "standard")) == len(pages)


# A readings row's label as the report names it: its method, then its readings (~400 characters).
READINGS = ", ".join(f"reading_{k}=value_{k} [setting_{k} 0.0001] (beyond the paper)" for k in range(8))


def _drawn(module, monkeypatch):
    """The figures `module` would save, drawn (labels and legends take their places when drawn)."""
    drawn = []

    def keep(fig, path):
        fig.canvas.draw()
        drawn.append(fig)
    monkeypatch.setattr(module, "save_png", keep)
    return drawn


@pytest.mark.parametrize("n_rows", [1, 2, 6])
def test_curve_legends_stay_inside_the_figure_and_below_the_panels(tmp_path, monkeypatch, n_rows):
    """A readings row's label carries its readings (~400 characters): the curves' legend wraps it to
    its column, so every entry lies inside the figure, and the legend below every panel's axes
    (round 32's page ran both labels off the figure's sides). Read from the drawn figure's extents."""
    drawn = _drawn(curves_figure, monkeypatch)
    curve = [{"epoch": e, "total": 1.0 / e, "losses": {"cls": 1.0 / e}} for e in (1, 2, 3)]
    series = [(f"#{r + 1} Row {r} [{READINGS}]", [curve]) for r in range(n_rows)]
    assert curves_figure.plot_curves(series, None, tmp_path / "c.png")
    fig = drawn[0]
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    legend = fig.legends[0].get_window_extent(renderer)
    for text in fig.legends[0].get_texts():
        extent = text.get_window_extent(renderer)
        assert box.x0 - 0.5 <= extent.x0 and extent.x1 <= box.x1 + 0.5, text.get_text()[:40]
    assert legend.y0 >= box.y0 - 0.5
    lowest_axes = min(ax.get_tightbbox(renderer).y0 for ax in fig.axes if ax.get_visible())
    assert legend.y1 <= lowest_axes + 0.5


def test_map_figures_draw_the_baseline_the_full_model_and_single_modules_among_the_switches_that_vary():
    """Figs. 5 / 7 draw the baseline, the full model and the single-module rows. Over Table 5's 16
    combinations that is 1 + 1 + 4 rows; in a readings study whose base holds MS off, full LOFR has 3
    of the 4 switches on and is still the full model (round 32's page drew the baseline alone)."""
    def row(number: int, on: tuple[bool, ...]) -> Row:
        return Row(number, {m.key: v for m, v in zip(MODULES, on)})

    table5 = [row(i + 1, on) for i, on in enumerate(product((False, True), repeat=len(MODULES)))]
    picked = [sum(r.switches()) for r in _map_rows(table5)]
    assert picked == [0, len(MODULES)] + [1] * len(MODULES)
    ms = [m.name for m in MODULES].index("MS")
    without_ms = [on for on in product((False, True), repeat=len(MODULES)) if not on[ms]]
    readings = [row(i + 1, on) for i, on in enumerate([without_ms[0], without_ms[-1], without_ms[3]])]
    assert sum(readings[2].switches()) == 2  # an ablation of two modules: neither baseline, full nor single
    assert [r.number for r in _map_rows(readings)] == [1, 2]


def test_map_overlay_row_labels_stay_inside_the_figure(tmp_path, monkeypatch):
    """Figs. 5 / 7 name each row on its left: a readings row's ~400-character label is wrapped to the
    row's height and the margin widened, so every label lies inside the figure (read from the drawn
    extents; round 32's page cut both ends of the label off)."""
    drawn = _drawn(maps_figure, monkeypatch)
    images = np.zeros((3, 32, 24, 3), dtype=np.uint8)
    maps = np.random.default_rng(0).random((3, 17, 4, 3))
    entries = [(f"#{r + 1} Row {r} [{READINGS}]", images, maps) for r in range(2)]
    assert maps_figure.plot_overlays(entries, "Fig. 5", tmp_path / "m.png")
    fig = drawn[0]
    renderer = fig.canvas.get_renderer()
    labels = [ax.yaxis.label for ax in fig.axes if ax.get_ylabel()]
    assert len(labels) == 2
    for label in labels:
        extent = label.get_window_extent(renderer)
        assert extent.x0 >= fig.bbox.x0 - 0.5 and extent.y0 >= fig.bbox.y0 - 0.5
        assert extent.y1 <= fig.bbox.y1 + 0.5


def test_prototype_colour_bars_print_no_offset_over_the_panel_titles(tmp_path, monkeypatch):
    """Fig. 6's panel (c), the initial joint relevance, holds values near 1e8 in a trained LOFR trial
    (round 32's c1cdc4ae0c3b: -2.4e8 to 4.7e8): its colour bar printed matplotlib's "1e8" offset
    over the panel's title. Each bar's ticks now carry their magnitude (a label read back is its
    tick's value) and no bar text meets a title (read from the drawn extents)."""
    drawn = _drawn(prototypes_figure, monkeypatch)
    rng = np.random.default_rng(0)
    matrices = {"a": rng.normal(size=(17, 17)) * 30, "c": rng.normal(size=(17, 17)) * 2e8,
                "d": 25 + 30 * rng.random((17, 17))}
    assert prototypes_figure.plot_prototypes(matrices, [f"joint{k}" for k in range(17)], tmp_path / "p.png")
    fig = drawn[0]
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_title()]
    bars = [ax for ax in fig.axes if not ax.get_title()]
    assert len(panels) == len(bars) == 3
    for panel, bar, key in zip(panels, bars, "acd"):
        assert bar.yaxis.get_offset_text().get_text() == ""
        low, high = bar.get_ylim()
        shown = [(loc, label.get_text()) for loc, label in zip(bar.get_yticks(), bar.get_yticklabels())
                 if low <= loc <= high]
        assert len(shown) >= 2
        for loc, text in shown:  # the label read back is its tick's value, magnitude included
            assert float(text.replace("\u2212", "-")) == pytest.approx(loc, rel=5e-3, abs=1e-9), (key, text)
        title = panel.title.get_window_extent(renderer)
        for text in [bar.yaxis.get_offset_text(), *bar.get_yticklabels()]:
            if text.get_text():
                assert not title.overlaps(text.get_window_extent(renderer)), (key, text.get_text())


@dataclass
class _CurveTrial:
    """What a figure reads of a trial: whether it completed and its curve."""

    curve: list
    completed: bool = True


def test_readings_figures_name_each_row_by_its_number_and_method(tmp_path, monkeypatch):
    """A readings row's name carries its readings (hundreds of characters): the tables keep it, the
    figures (legends, row labels) give the row's number and method alone, the caption saying the
    number is the table's row; a Table 5 row is named alike in both."""
    curve = [{"epoch": 1, "total": 1.0, "losses": {"cls": 1.0}}]
    rows = [Row(1, flatten(config("coco", (0, 0, 0, 0), 0, part_pooling="score_map"))),
            Row(2, flatten(config("coco", (1, 0, 1, 1), 0, part_pooling="score_map", beta=0.001)))]
    for row in rows:
        row.trials.append(_CurveTrial([curve]))
        assert "score_map" in short_label(row, READINGS_TABLE)
        assert figure_label(row, READINGS_TABLE) == f"#{row.number} {method_label(row.flat)}"
        assert figure_label(row, TABLE5) == short_label(row, TABLE5)
    assert figure_label(rows[0], READINGS_TABLE) != figure_label(rows[1], READINGS_TABLE)
    drawn = []
    monkeypatch.setattr(study_figures, "plot_curves", lambda series, primary, path: drawn.append(series) or True)
    view = study_figures.curves_figure(FigureWriter(tmp_path), "s", rows, READINGS_TABLE, None)
    assert [label for label, _ in drawn[0]] == ["#1 " + method_label(rows[0].flat), "#2 " + method_label(rows[1].flat)]
    assert "row n" in view.caption
    study_figures.curves_figure(FigureWriter(tmp_path), "t", rows, TABLE5, None)
    assert [label for label, _ in drawn[1]] == [short_label(r, TABLE5) for r in rows]
