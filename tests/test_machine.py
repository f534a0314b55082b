"""Which machine's arithmetic trained a trial (`harness.trial.machine`), recorded in metrics.json, and
where a comparison pairs trials of two machines: the report's Δ cells and versus.py."""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.record import other_machine
from harness.report.bootstrap import PerImageCache, crossed_seeds
from harness.report.cells import Format
from harness.report.loading import Reference, TrialRecord
from harness.report.rows import Row
from harness.report.study_tables import study_table, trials_table
from harness.tables import TABLES
from harness.trial.machine import digest, machine_facts, probe_tensors, tensor_bytes

ROOT = Path(__file__).resolve().parents[1]


def test_the_numerics_digest_is_stable_on_one_machine_and_moves_with_one_bit_of_the_probe():
    cpu = torch.device("cpu")
    before = torch.random.get_rng_state()
    first, second = machine_facts(cpu), machine_facts(cpu)
    # the probe draws from its own generator: a trial's random state is left as it was
    assert torch.equal(torch.random.get_rng_state(), before)
    assert first == second
    assert set(first) == {"cpu", "cpu_flags", "threads", "torch", "device", "numerics"}
    assert re.fullmatch(r"[0-9a-f]{12}", str(first["numerics"]))
    assert first["threads"] == torch.get_num_threads() and first["torch"] == torch.__version__
    tensors = probe_tensors(cpu)
    assert digest(tensor_bytes(tensors)) == first["numerics"]
    # another machine's kernels round one value differently: one ulp of one output is another digest
    nudged = [t.clone() for t in tensors]
    flat = nudged[2].view(-1)
    flat[7] = torch.nextafter(flat[7], torch.tensor(float("inf")))
    assert digest(tensor_bytes(nudged)) != first["numerics"]
    # the chunks' boundaries count: the same bytes cut elsewhere are not the same probe
    assert digest([b"ab", b"c"]) != digest([b"a", b"bc"])


@pytest.mark.parametrize("a, b, differ", [
    ({"numerics": "aaaaaaaaaaaa"}, {"numerics": "aaaaaaaaaaaa", "cpu": "other"}, False),
    ({"numerics": "aaaaaaaaaaaa"}, {"numerics": "bbbbbbbbbbbb"}, True),
    ({}, {"numerics": "bbbbbbbbbbbb"}, False),  # unknown: nothing can be said
    ({}, {}, False),
])
def test_other_machine_is_a_known_difference_of_the_numerics(a, b, differ):
    assert other_machine(a, b) is differ and other_machine(b, a) is differ


def _row(number: int, spe: bool, pck: float, machines: list[str | None]) -> Row:
    flat = {"dataset.name": "coco_twin", "dataset.kind": "coco", "model.spe": spe, "model.multi_scale": False,
            "model.reppg": False, "model.pdc": False}
    trials = [TrialRecord(id=f"t{number}-{s}", config={"seed": s}, studies=["s"], status="completed",
                          dir=Path("none"), metrics={"AP": 0.0, "AR": 0.0, "PCK@0.1": pck + 0.01 * s},
                          machine={} if m is None else {"numerics": m})
              for s, m in enumerate(machines)]
    return Row(number, flat, trials)


def test_a_delta_pairing_trials_of_two_machines_says_which_seeds_in_its_cell():
    """Seed 1's SPE trial was trained on machine b, its baseline on a: that Δ cell names seed 1 and
    the table says what it means; seed 2's baseline has no machine recorded (before 2026-12-05):
    not flagged. With every pair on one machine the cell carries no mark and the note is absent."""
    ref = Reference("coco_twin", "coco", "val", {"AP": 0.0, "AR": 0.0, "PCK@0.1": 0.30})
    base = _row(1, False, 0.40, ["a", "a", None])
    spe = _row(2, True, 0.45, ["a", "b", "b"])
    assert crossed_seeds(spe.completed, base.completed) == [1]
    assert crossed_seeds(base.completed, base.completed) == []
    table = study_table(TABLES["table5"], [base, spe], ref, Format(digits=2), PerImageCache(), "Table 5")
    column = table.view.header.index(next(h for h in table.view.header if h.startswith("Δ PCK@0.1")))
    cell = table.view.body[1][column]
    assert cell.sub.endswith("⚠ another machine (seed 1)") and "warn" in cell.cls
    assert cell.text.startswith("+5.00")  # the value itself is unchanged
    assert any(note.startswith("\"⚠ another machine\"") for note in table.view.notes)
    same = _row(2, True, 0.45, ["a", "a", None])
    table = study_table(TABLES["table5"], [base, same], ref, Format(digits=2), PerImageCache(), "Table 5")
    assert "another machine" not in table.view.body[1][column].sub
    assert not any("another machine" in note for note in table.view.notes)


def _versus():
    folder = ROOT / "experiments" / "readings"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("versus_machine", folder / "versus.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


def test_versus_says_whether_a_pair_shares_its_machine(tmp_path, capsys):
    versus = _versus()
    ids, visible = np.arange(20), np.full(20, 5)
    folders = {}
    for name, machine in (("a", {"numerics": "aaaaaaaaaaaa", "cpu": "EPYC", "threads": 1}),
                          ("b", {"numerics": "aaaaaaaaaaaa"}),
                          ("c", {"numerics": "cccccccccccc", "cpu": "Xeon", "threads": 1}),
                          ("old", None)):
        folder = tmp_path / name
        folder.mkdir()
        np.savez(folder / "per_image.npz", image_ids=ids, loc_visible=visible, loc_correct=np.full(20, 2))
        data = {"config": {"seed": 0}} | ({} if machine is None else {"machine": machine})
        (folder / "metrics.json").write_text(json.dumps(data))
        folders[name] = folder
    assert versus.machine_line(folders["a"], folders["b"]) == "  one machine's arithmetic (numerics aaaaaaaaaaaa)"
    crossed = versus.machine_line(folders["a"], folders["c"])
    assert crossed.startswith("  ⚠ another machine: numerics aaaaaaaaaaaa vs cccccccccccc (EPYC, 1 threads vs Xeon")
    assert "machine unknown for old" in versus.machine_line(folders["a"], folders["old"])
    assert versus.main([str(folders["a"]), str(folders["c"])]) == 0
    assert "⚠ another machine" in capsys.readouterr().out


def test_versus_takes_curves_equal_bit_for_bit_as_one_arithmetic_where_no_machine_was_recorded(tmp_path):
    """Two old trials (no `machine`) whose curves agree through epoch k, the lr aside (recorded after
    the scheduler's step, so a later drop changes it for an epoch trained alike), were trained in
    one arithmetic: versus.py says so and through which epoch; one float off in epoch 1 and it does
    not."""
    versus = _versus()
    ids, visible = np.arange(20), np.full(20, 5)

    def epoch(i: int, lr: float, total: float) -> dict:
        return {"epoch": i, "losses": {"cls_cnn": total / 2}, "total": total, "lr": lr,
                "ladder": {"readouts": {"responses": 0.1 * i}}, "diagnostics": {"prototype_cos": 0.5}}

    curves = {
        "five": [epoch(1, 4e-3, 0.45), epoch(2, 4e-4, 0.40), epoch(3, 4e-4, 0.38), epoch(4, 4e-4, 0.37)],
        "ten": [epoch(1, 4e-3, 0.45), epoch(2, 4e-3, 0.40), epoch(3, 4e-3, 0.36), epoch(4, 4e-3, 0.35)],
        "other": [epoch(1, 4e-3, 0.45 + 1e-12), epoch(2, 4e-3, 0.40)],
    }
    folders = {}
    for name, curve in curves.items():
        folder = tmp_path / name
        folder.mkdir()
        np.savez(folder / "per_image.npz", image_ids=ids, loc_visible=visible, loc_correct=np.full(20, 2))
        (folder / "metrics.json").write_text(json.dumps({"config": {"seed": 0}, "curve": curve}))
        folders[name] = folder
    # epoch 2 differs only in the recorded lr (not compared), epoch 3 in its loss
    assert versus.shared_epochs(folders["five"], folders["ten"]) == 2
    line = versus.machine_line(folders["five"], folders["ten"])
    assert line.endswith("but their curves agree bit for bit through epoch 2: one arithmetic")
    assert versus.shared_epochs(folders["five"], folders["other"]) == 0
    assert versus.machine_line(folders["five"], folders["other"]).endswith("pair only trials trained in one session")


def test_the_trials_list_flags_a_same_seed_comparison_across_machines_and_names_each_trials_machine():
    ref = Reference("coco_twin", "coco", "val", {"AP": 0.0, "AR": 0.0, "PCK@0.1": 0.30})
    base = _row(1, False, 0.40, ["a", "a", None])
    spe = _row(2, True, 0.45, ["a", "b", "b"])
    view = trials_table([base, spe], "PCK@0.1", Format(digits=2), ref, PerImageCache(), comparison=TABLES["table5"].comparison)
    marks = {line[0].text: line for line in view.body}
    assert marks["t1-2"][0].title == "machine not recorded (a trial from before 2026-12-05)"
    assert marks["t2-1"][0].title.endswith("numerics b")
    column = view.header.index("− comparison row, same seed [95% CI]")
    assert "another machine (seed 1)" in marks["t2-1"][column].sub and "warn" in marks["t2-1"][column].cls
    assert "another machine" not in marks["t2-0"][column].sub + marks["t2-2"][column].sub
    assert any(note.startswith("\"⚠ another machine\"") for note in view.notes)
