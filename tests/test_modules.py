"""The ablation switches declared once (harness/paper/modules.py): a fifth switch declared in a test
alone is in the plan, the row labels, the check-mark columns and the factorial analysis (2^5 cells);
a study holding a smaller 2^k grid of switches (the readings' RePPG x PDC) is found and analysed."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from harness.matrix import expand
from harness.paper import modules
from harness.matrix.plan_view import plan_table
from harness.report.cells import Format
from harness.report.factorial_view import analyse, sub_factorial, switched_effects_table
from harness.report.factorial import factorial_effects
from harness.report.loading import TrialRecord
from harness.report.rows import Row, flatten
from harness.tables import TABLES
from harness.tables.labels import method_label, switch_order
from harness.tables.parts import switch_match

ROOT = Path(__file__).resolve().parents[1]
FIFTH = modules.Module("SE", "model.shared_encoder", "beyond the paper", "a test's own switch", paper=False)
KEYS = ("model.spe", "model.multi_scale", "model.reppg", "model.pdc", "model.shared_encoder")


@pytest.fixture
def fifth(monkeypatch):
    monkeypatch.setattr(modules, "MODULES", [*modules.MODULES, FIFTH])
    return FIFTH


def test_the_paper_declares_four_modules_and_table5_matches_them_by_name():
    assert [m.name for m in modules.modules()] == ["SPE", "MS", "RePPG", "PDC"]
    assert switch_match("SPE", "PDC") == {"model.spe": True, "model.multi_scale": False, "model.reppg": False,
                                          "model.pdc": True}
    rows = TABLES["table5"].paper.rows
    assert rows[0].match == switch_match() and rows[-1].match == switch_match("SPE", "MS", "RePPG", "PDC")
    with pytest.raises(KeyError, match="no declared module"):
        switch_match("SPEE")


def test_a_fifth_switch_is_in_the_labels_and_the_check_marks(fifth):
    all_on = {k: True for k in KEYS}
    paper_on = {**all_on, "model.shared_encoder": False}
    assert method_label(paper_on) == "Ours-LOFR"  # every paper module on: the fifth is beyond the paper
    assert method_label(all_on) == "Ours-LOFR + SE"
    assert method_label({"model.shared_encoder": True}) == "+ SE"
    assert method_label({}) == "Baseline"
    assert [c.header for c in TABLES["factorial"].label_columns] == ["SPE", "MS", "RePPG", "PDC", "SE"]
    assert "model.shared_encoder" in TABLES["table5"].label_keys
    assert len(switch_order(all_on)[1]) == 5


def test_a_fifth_switch_is_in_the_plan(fifth, tmp_path):
    data = yaml.safe_load((ROOT / "run_matrix.yaml").read_text())
    data["studies"]["factorial"]["grid"]["model.shared_encoder"] = [False, True]
    data["scales"]["smoke"]["studies"] = {"factorial": "all"}
    path = tmp_path / "five.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = expand(path, "smoke")
    assert len(plan.trials) == 32
    text = plan_table(plan, tmp_path)
    header = next(line for line in text.splitlines() if line.startswith("id "))
    assert " SE " in header and header.index("PDC") < header.index(" SE ")
    rows = [line for line in text.splitlines() if line[:12] in {t.id for t in plan.trials}]
    se_column = header.index(" SE ") + 1
    assert sorted(line[se_column] for line in rows) == ["."] * 16 + ["x"] * 16


def _row(number: int, on: tuple[bool, ...], value: float) -> Row:
    flat = flatten({"model": {k.split(".")[1]: v for k, v in zip(KEYS, on)}})
    trial = TrialRecord(id=f"t{number}", config={}, studies=["factorial"], status="completed", dir=Path("."),
                        metrics={"AP": value})
    return Row(number, flat, [trial])


def test_a_fifth_switch_is_a_factor_of_the_factorial_analysis(fifth):
    # the metric: 0.2 + 0.1 SPE + 0.04 SE + 0.02 (SPE and SE both on); effects recovered exactly
    cells = list(itertools.product((False, True), repeat=5))
    rows = [_row(i, on, 0.2 + 0.1 * on[0] + 0.04 * on[4] + 0.02 * (on[0] and on[4])) for i, on in enumerate(cells)]
    result, problems = analyse(rows, "AP")
    assert problems == [] and [e.name for e in result.main] == ["SPE", "MS", "RePPG", "PDC", "SE"]
    main = {e.name: e.estimate for e in result.main}
    assert main["SPE"] == pytest.approx(0.11) and main["SE"] == pytest.approx(0.05)
    assert main["MS"] == pytest.approx(0.0, abs=1e-12)
    inter = {e.name: e.estimate for e in result.interactions}
    assert len(inter) == 10 and inter["SPE × SE"] == pytest.approx(0.01)
    # 16 of the 32 cells missing: the analysis says how many
    _, problems = analyse(rows[:16], "AP")
    assert problems and "16 of the 32 cells" in problems[0]


def _readings_row(number: int, model: dict, seeds: list[tuple[float, float]]) -> Row:
    """A readings row under SPE's embed fusion: one trial per (responses, CAMs) figure pair."""
    base = {"spe": True, "spe_fusion": "embed", "multi_scale": False, "reppg": False, "pdc": False, "d_model": 64}
    config = {"model": {**base, **model}, "seed": 0}
    trials = [TrialRecord(id=f"t{number}s{i}", config=config, studies=["s"], status="completed", dir=Path("."),
                          metrics={"PCK@0.1": r}, readouts={"cams": {"PCK@0.1": c}}) for i, (r, c) in enumerate(seeds)]
    return Row(number, flatten(config), trials)


def test_a_readings_round_holding_a_2x2_of_switches_gets_its_effects_per_read_out():
    """sub_factorial finds the RePPG x PDC grid among a baseline (SPE off too) and four rows that
    differ only in RePPG, PDC and their own settings (PDC's beta, RePPG's gradient); the table's
    main effect is the difference of the cell means computed here by hand, per read-out; a fifth
    row in a cell (another beta) makes the grid ambiguous, and a row differing elsewhere is no cell."""
    seeds = {(False, False): [(0.38, 0.39), (0.40, 0.37)], (False, True): [(0.34, 0.36), (0.33, 0.35)],
             (True, False): [(0.35, 0.34), (0.36, 0.35)], (True, True): [(0.36, 0.35), (0.35, 0.36)]}
    baseline = _readings_row(1, {"spe": False, "spe_fusion": "outer"}, [(0.39, 0.40), (0.37, 0.38)])
    rows = [baseline]
    for number, (reppg, pdc) in enumerate(seeds, start=2):
        model = {"reppg": reppg, "pdc": pdc, **({"beta": 0.01} if pdc else {}),
                 **({"keypoint_vector_gradient": "stopped"} if reppg else {})}
        rows.append(_readings_row(number, model, seeds[reppg, pdc]))
    names, grid = sub_factorial(rows)
    assert names == ("RePPG", "PDC") and baseline not in grid.values()
    assert {c: r.number for c, r in grid.items()} == {(False, False): 2, (False, True): 3, (True, False): 4, (True, True): 5}
    results = {}
    for i, readout in enumerate(("responses", "cams")):
        results[readout] = factorial_effects({c: [v[i] for v in vs] for c, vs in seeds.items()}, names)
    mean = {c: [sum(v[i] for v in vs) / 2 for i in range(2)] for c, vs in seeds.items()}
    pdc_cams = (mean[False, True][1] + mean[True, True][1] - mean[False, False][1] - mean[True, False][1]) / 2
    view = switched_effects_table(names, grid, results, "PCK@0.1", Format(digits=2))
    body = {r[0].text: [c.text for c in r[1:]] for r in view.body}
    assert body["PDC (main effect)"][1].startswith(Format(digits=2).signed(pdc_cams) + " [")
    assert set(body) >= {"RePPG × PDC (interaction)", "RePPG with PDC off", "PDC with RePPG on"}
    assert "#2 (neither)" in view.notes[0] and "#5 (RePPG+PDC)" in view.notes[0]
    other_beta = _readings_row(6, {"pdc": True, "beta": 0.1}, [(0.30, 0.30)])
    assert sub_factorial(rows + [other_beta]) is None  # two rows in the PDC cell
    elsewhere = _readings_row(6, {"reppg": True, "pdc": True, "d_model": 32}, [(0.30, 0.30)])
    assert sub_factorial(rows[:4] + [elsewhere]) is None  # d_model differs: not the missing cell
