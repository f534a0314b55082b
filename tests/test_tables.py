"""The paper tables' declarations (harness/tables/): published numbers, row order, comparisons and
paper rows on the real matrix, metric columns; a made-up table declared once and found in the
plan and in the report, and a column added to every table in one place."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_report import Page
from test_report_fixture import SWITCH_ROWS, completed, make_results

from harness import tables
from harness.matrix import MatrixError, expand
from harness.matrix.plan_view import plan_table
from harness.report import build_report
from harness.report.loading import TrialRecord
from harness.report.rows import group_rows, order_rows, reference_row
from harness.layout import merge_index
from harness.tables import EVERY_TABLE, TABLE7, TABLES, Column, metric_columns, paper_for, table_for
from harness.tables.declaration import Comparison, LabelColumn, PaperNumbers, PaperRow, Table
from harness.tables.labels import fraction_label, method_label

REPO = Path(__file__).resolve().parents[1]


def _matrix_rows(scale: str) -> dict[str, list]:
    """{study: rows} of the real run_matrix.yaml, from the configs its index.json would hold."""
    plan = expand(REPO / "run_matrix.yaml", scale=scale)
    out = {}
    for name, study in plan.studies.items():
        trials = [TrialRecord(id=t.id, config=t.config.to_dict(), studies=t.studies, status="missing", dir=Path("."))
                  for t in plan.trials if name in t.studies]
        out[name] = order_rows(group_rows(trials), TABLES[study.table])
    return out


def test_paper_numbers_are_transcribed_honestly():
    hr48 = next(r for r in TABLES["table1"].paper.rows if r.label == "Ours-LOFR HR48 256×192")
    assert hr48.values["AP"] is None and hr48.values["AP .5"] is None  # garbled in the paper's text
    assert (hr48.values["AP .75"], hr48.values["AP (M)"], hr48.values["AP (L)"]) == (56.7, 53.8, 57.8)
    assert TABLES["table5"].paper.rows[7].values == {"mAP": 54.9, "mAR": 60.6}
    assert TABLES["table6"].paper.rows[3].values == {"mAP": 54.9, "mAR": 60.6}
    for row in TABLES["table3"].paper.rows:
        assert row.values["AP .5"] is None and row.values["AP .75"] is None  # unreadable headers
    assert TABLES["table3"].paper.rows[1].values["AP"] == 42.5 and TABLES["table3"].paper.rows[1].values["AP_H"] == 34.1
    assert [TABLES[k].paper.split_key for k in ("table1", "table2", "table3", "table4", "table5", "table6")] == \
        ["test-dev", "test", "test", "val", "val", "val"]
    assert len(TABLES["table4"].paper.rows) == 24 and TABLES["table2"].paper.rows[1].values["Total"] == 61.8
    assert TABLES["table4"].paper.rows[7].label == "Sup-only HR32 ALL" and TABLES["table4"].paper.rows[7].values == \
        {"value": 74.9}
    assert TABLE7.rows[1].values["Ear"] is None and TABLE7.rows[3].values["Hea"] == 0.86  # a dash is unknown
    with pytest.raises(ValueError, match="unknown columns"):
        PaperNumbers("x", "val", "val", {}, (Column("AP", "AP"),), (PaperRow("r", {}, {"AR": 1.0}),))


def test_row_order_and_comparison_rows_on_the_real_matrix():
    rows = _matrix_rows("full")
    t5 = rows["table5"]
    assert [r.switches() for r in t5] == [tuple(bool(v) for v in s) for s in SWITCH_ROWS]  # the paper's order
    assert all(reference_row(r, t5, TABLES["table5"].comparison) is t5[0] for r in t5[1:])
    t6 = rows["table6"]
    assert [(r.flat["model.enc_layers"], r.flat["model.dec_layers"]) for r in t6] == \
        [(2, 2), (3, 3), (4, 4), (4, 6), (6, 4), (6, 6)]
    assert [reference_row(r, t6, TABLES["table6"].comparison) for r in t6].count(None) == 1
    t4 = rows["table4"]
    assert len(t4) == 24
    for r in t4:
        ref = reference_row(r, t4, TABLES["table4"].comparison)
        if method_label(r.flat) == "Sup-only":
            assert ref is None
            continue
        assert method_label(ref.flat) == "Sup-only"
        for key in ("dataset.name", "model.backbone"):
            assert ref.flat[key] == r.flat[key]
        assert fraction_label(ref.flat) == fraction_label(r.flat)
    t1 = rows["table1"]
    for r in t1:
        ref = reference_row(r, t1, TABLES["table1"].comparison)
        if method_label(r.flat) == "Ours-LOFR":
            assert (ref.flat["model.backbone"], ref.flat["model.input_size"]) == \
                (r.flat["model.backbone"], r.flat["model.input_size"]) and method_label(ref.flat) == "Baseline"


def test_a_readings_rows_comparison_row_comes_before_it_in_every_readings_study():
    """The readings table orders each study's rows with the baseline under the same readings first,
    as Table 5 does. Before, rows sorted by their full description, which counts readings only a
    module reads (SPE's fusion): readings_seeds30's baseline came after the LOFR rows it is compared
    with, and 13 rows over the matrix's readings studies came before their comparison row."""
    checked = 0
    for scale in yaml.safe_load((REPO / "run_matrix.yaml").read_text())["scales"]:
        plan = expand(REPO / "run_matrix.yaml", scale=scale)
        for name in [n for n, study in plan.studies.items() if study.table == "readings"]:
            trials = [TrialRecord(id=t.id, config=t.config.to_dict(), studies=t.studies, status="missing",
                                  dir=Path(".")) for t in plan.trials if name in t.studies]
            rows = order_rows(group_rows(trials), TABLES["readings"])
            for row in rows:
                ref = reference_row(row, rows, TABLES["readings"].comparison)
                if ref is not None:
                    assert ref.number < row.number, (scale, name, row.number, ref.number)
                    checked += 1
    assert checked >= 20
    seeds30 = _matrix_rows("screen14")["readings_seeds30"]
    assert [method_label(r.flat) for r in seeds30] == ["Baseline", "+ SPE + RePPG", "+ SPE + RePPG + PDC"]


def test_the_baseline_comparison_ignores_only_what_no_switched_off_module_reads():
    """Confirmations 3 and 4 compare LOFR at PDC's beta 0.01 (and RePPG's gradient stopped) with a
    baseline at the defaults: those fields are inert without PDC and RePPG, so the baseline is the
    comparison row (before `Module.params`, no row had one and the report showed no Δ). A setting
    every model reads (the warm-up) still keeps rows apart."""
    rows = _matrix_rows("confirm14")
    for study in ("readings_confirm17", "readings_confirm19", "readings_confirm24"):
        base, = [r for r in rows[study] if method_label(r.flat) == "Baseline"]
        lofr, = [r for r in rows[study] if r is not base]
        assert lofr.flat["model.beta"] != base.flat["model.beta"]
        assert reference_row(lofr, rows[study], TABLES["readings"].comparison) is base
    assert {r.flat["model.keypoint_vector_gradient"] for r in rows["readings_confirm19"]} == {"through", "stopped"}
    # SPE's fusion and position (confirmation 5) are SPE's params: inert in the baseline
    assert {r.flat["model.spe_position"] for r in rows["readings_confirm24"]} == {"replace", "beside"}
    # confirmation 2's baseline (no warm-up) is not confirmation 3's LOFR's comparison row
    mixed = [r for r in rows["readings_confirm14"] if method_label(r.flat) == "Baseline"] + \
        [r for r in rows["readings_confirm17"] if method_label(r.flat) != "Baseline"]
    assert mixed[0].flat["schedule.warmup_iters"] != mixed[1].flat["schedule.warmup_iters"]
    assert reference_row(mixed[1], mixed, TABLES["readings"].comparison) is None
    # PDC switched on late (a schedule only PDC's term reads) keeps the baseline as comparison row;
    # before PDC's params named `schedule.pdc_onset`, such a row found none
    base, = [r for r in rows["readings_confirm19"] if method_label(r.flat) == "Baseline"]
    lofr, = [r for r in rows["readings_confirm19"] if r is not base]
    late = replace(lofr, flat={**lofr.flat, "schedule.pdc_onset": "late", "schedule.pdc_from_epoch": 3})
    assert reference_row(late, [base, late], TABLES["readings"].comparison) is base


def test_paper_rows_match_the_real_matrix_at_full_scale():
    rows = _matrix_rows("full")
    for study, expected in (("table5", 8), ("table6", 6), ("table2", 2), ("table3", 2), ("table4", 24)):
        found = [paper_for(TABLES[study], r.kind).find(r.flat) for r in rows[study]]
        assert sum(f is not None for f in found) == expected, study
    labels = {paper_for(TABLES["table1"], "coco").find(r.flat).label for r in rows["table1"]
              if paper_for(TABLES["table1"], "coco").find(r.flat)}
    assert len(labels) == 8 and "Ours-LOFR HR48 256×192" in labels
    # studies beyond the paper are set beside the paper's table of their dataset
    assert paper_for(TABLES["datasets"], "mpii") is TABLES["table2"].paper
    assert paper_for(TABLES["factorial"], "coco") is TABLES["table5"].paper
    assert paper_for(TABLES["factorial"], "nope") is None


def test_metric_columns_add_the_location_metric_once():
    for table in TABLES.values():
        for kind, location in (("coco", "PCK@0.1"), ("crowdpose", "PCK@0.1"), ("mpii", "Mean")):
            metrics = [m for _, m in metric_columns(table, kind)]
            assert metrics.count(location) == 1, (table.key, kind)
    assert metric_columns(TABLES["table5"], "coco") == [("mAP", "AP"), ("mAR", "AR"), ("PCK@0.1", "PCK@0.1")]
    assert metric_columns(TABLES["table5"], "mpii") == [("PCKh Mean", "Mean"), ("PCKh@0.1", "Mean@0.1")]  # spec's
    assert metric_columns(TABLES["table4"], "mpii") == [("PCKh", "Mean")]
    assert metric_columns(TABLES["table1"], "unknown") is None
    assert table_for("not_declared").title == "" and table_for("not_declared").labels == TABLES["datasets"].labels


def test_every_declared_section_exists():
    from harness.report.sections import SECTIONS

    declared = {name for table in TABLES.values() for name in table.sections}
    assert declared == set(SECTIONS)  # each section a declaration names is built, and each one is used


# ---------------------------------------------------------------------------------------------
# A made-up table: one declaration, found in the matrix's validation, the plan and the report.

DROPOUTS = (0.0, 0.1, 0.2)
AP = {0.0: 0.52, 0.1: 0.55, 0.2: 0.47}  # made-up results by dropout
T9 = Table(
    key="table9",
    title="Table 9: dropout",
    description="Table 9: attention dropout (made up)",
    labels=(LabelColumn("Dropout", lambda f: f"{f.get('model.dropout'):.1f}", ("model.dropout",)),),
    order=lambda f: -f.get("model.dropout", 0.0),  # the (made-up) paper lists the largest first
    name=lambda f: f"dropout {f.get('model.dropout')}",
    comparison=Comparison(vary=("model.dropout",), is_reference=lambda f: f.get("model.dropout") == 0.1,
                          label="dropout 0.1"),
    columns={"coco": (Column("AP", "AP"), Column("AR .5", "AR .5"))},
    paper=PaperNumbers(caption="Table 9: dropout on COCO val2017", split="COCO val2017", split_key="val",
                       match={"dataset.kind": "coco"}, columns=(Column("AP", "AP"),),
                       rows=(PaperRow("dropout 0.1", {"model.dropout": 0.1}, {"AP": 50.0}),
                             PaperRow("dropout 0.2", {"model.dropout": 0.2}, {"AP": None}))),
    sections=("labelled_fraction_pivot",),  # any declared section: here Table 4's pivot
)


def _matrix(tmp_path: Path) -> Path:
    data = {"name": "t9", "datasets": {"coco": {"kind": "coco", "root": str(tmp_path / "coco")}},
            "backbones": {"resnet50": {"pretrained": None}},
            "defaults": {"dataset": "coco", "model": {"backbone": "resnet50", "input_size": [256, 192]}},
            "resources": {"gpus_per_trial": 1, "cpus_per_trial": 1},
            "studies": {"dropout": {"table": "table9", "rows": [{"model": {"dropout": d}} for d in DROPOUTS]}}}
    path = tmp_path / "t9.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_made_up_table_is_one_declaration_found_in_the_plan_and_the_report(tmp_path, monkeypatch):
    path = _matrix(tmp_path)
    with pytest.raises(MatrixError, match="table9"):
        expand(path, "full")  # not declared yet
    monkeypatch.setitem(TABLES, "table9", T9)  # the one declaration

    plan = expand(path, "full")
    assert plan.studies["dropout"].title == T9.description  # the matrix gave no title
    line = next(x for x in plan_table(plan, tmp_path / "results").splitlines() if x.startswith("dropout "))
    assert line.split()[:3] == ["dropout", "table9", "3"] and line.endswith("Table 9: dropout (Dropout)")

    results = tmp_path / "results" / "t9"
    merge_index(plan, results, {}, list(plan.studies))
    rng = np.random.default_rng(0)
    for t in plan.trials:  # one seed each, full scale on the real dataset (nothing trains here)
        d = t.config.model.dropout
        metrics = {"AP": AP[d], "AR": 0.6, "AR .5": 0.7 + d, "PCK@0.1": 0.3}
        (results / t.id).mkdir()
        (results / t.id / "metrics.json").write_text(json.dumps(completed(t.config.to_dict(), metrics, rng, 60.0)))
    out = tmp_path / "out"
    build_report(results, out)

    index = Page((out / "index.html").read_text())
    (row,) = [r for r in index.table("")["body"] if r[1] == "dropout"]
    assert row[0] == "Table 9: dropout" and row[2] == "table9" and row[4] == "3"
    text = (out / "study-dropout.html").read_text()
    assert "<h1>Table 9: dropout</h1>" in text and "Table 9: attention dropout (made up)" in text
    page = Page(text)
    results_table = page.table("Table 9: dropout — coco")
    assert results_table["head"][0] == ["#", "Dropout", "AP", "AR .5", "PCK@0.1", "Δ AP [95% CI]", "seeds"]
    body = results_table["body"]
    assert [r[1] for r in body] == ["0.2", "0.1", "0.0"]  # the declared order, not the matrix's
    assert [r[2] for r in body] == [f"{100 * AP[d]:.1f} n=1" for d in (0.2, 0.1, 0.0)]
    assert [r[3] for r in body] == [f"{100 * (0.7 + d):.1f} n=1" for d in (0.2, 0.1, 0.0)]
    # Δ against the declared reference row (dropout 0.1), one seed: no interval
    assert [r[5] for r in body] == ["−8.0 no CI", "", "−3.0 no CI"]
    pivot = page.table("The paper's layout: AP")  # the declared section
    assert [r[0] for r in pivot["body"]] == ["Ours-LOFR"]
    paper = page.table("Beside the paper (Table 9: dropout on COCO val2017)")
    header = paper["head"][0]
    by_label = {r[2]: r for r in paper["body"]}
    assert by_label["dropout 0.1"][header.index("AP paper")] == "50.0"
    # ours 55.0 on COCO's standard val2017 (an empty val_ann): the paper's split, so no † mark
    assert by_label["dropout 0.1"][header.index("AP paper") + 2] == "+5.0"
    assert by_label["dropout 0.2"][header.index("AP paper")] == "unknown"
    assert "Rows without a counterpart in the paper: #3." in text  # dropout 0.0 (row #3) is not in the paper
    # the legends name rows with the declaration's `name`
    assert "#1 dropout 0.2" in Page((out / "study-dropout.html").read_text()).table("Table 7")["body"][0][0]


def test_a_column_on_every_table_is_one_entry(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "EVERY_TABLE", EVERY_TABLE + (Column("Wrist", "Wrist"),))
    results = make_results(tmp_path / "results")
    out = tmp_path / "out"
    build_report(results, out)
    pages = sorted(out.glob("study-*.html"))
    assert len(pages) == 3
    for path in pages:
        table = [t for t in Page(path.read_text()).tables if t["caption"].startswith(("Table 5", "Datasets",
                                                                                      "Factorial"))][0]
        header = table["head"][0]
        assert "Wrist" in header and header.index("Wrist") == header.index("PCKh@0.1") + 1
    # the cell is the mean over the row's seeds of each trial's Wrist metric
    index = json.loads((results / "index.json").read_text())
    baseline = [tid for tid in index["studies"]["table5"]["trials"]
                if not any(index["trials"][tid]["config"]["model"][k] for k in ("spe", "multi_scale", "reppg", "pdc"))]
    wrist = [json.loads((results / tid / "metrics.json").read_text())["metrics"]["Wrist"] for tid in baseline]
    page = Page((out / "study-table5.html").read_text()).table("Table 5")
    cell = page["body"][0][page["head"][0].index("Wrist")]
    assert cell == f"{100 * np.mean(wrist):.2f} ± {100 * np.std(wrist, ddof=1):.2f} n={len(wrist)}"
