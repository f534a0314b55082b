"""`harness run`'s progress line: the ETA from the remaining trials' own work; the plan's duration in
hours below a day; the twin line says whether a twin is made or read from the cache."""
from __future__ import annotations

from pathlib import Path

from tiny import tiny_config

from harness.runner import progress
from harness.data.synth import TwinParams, ensure_twin, is_cached
from harness.matrix import Plan, PlannedTrial, Resources
from harness.matrix.plan_view import duration
from harness.runner.progress import ProgressBoard


def _plan(ids: list[str]) -> Plan:
    cfg = tiny_config("coco", epochs=4)
    return Plan("m", "smoke", "m.yaml", Resources(), {}, [PlannedTrial(i, cfg, ["s"]) for i in ids])


def test_eta_weighs_the_remaining_trials_by_their_own_work(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: clock[0])
    # work: a 100, b 300 (three times a), c 100; one slot
    board = ProgressBoard(_plan(["a", "b", "c"]), Path("."), quiet=True, work={"a": 100.0, "b": 300.0, "c": 100.0})
    assert board._eta() == "?"
    board.started_trial("a")
    clock[0] = 50.0  # a takes 50 s: 2 units of work a second
    board.completed("a", True)
    board.started_trial("b")
    # b and c left, 400 units at 2 a second on one slot: 200 s (the old estimate, trials x mean time: 100 s)
    assert board._eta() == "0:03:20"
    board.result("b", {"epoch": 2, "loss": 1.0})  # half of b's 4 epochs done: 150 + 100 left
    assert board._eta() == "0:02:05"
    board.started_trial("c")  # two slots in use now
    assert board._eta() == "0:01:02"
    board.skip({"c"})
    assert board._eta() == "0:00:37"  # c needs nothing (completed before this run): 75 s / 2 slots


def test_trials_completed_before_the_run_count_as_done_not_pending(capsys):
    # Seen on 2026-12-02: a rerun that added one trial to three completed ones printed
    # "done 0 | running 1 | pending 3" for the whole run.
    board = ProgressBoard(_plan(["a", "b", "c", "d"]), Path("."), work={"d": 1.0})
    board.skip({"a", "b", "c"})
    board.started_trial("d")
    assert "done 3 | running 1 | pending 0 | failed 0" in capsys.readouterr().out
    board.completed("d", True)
    assert "done 4 | running 0 | pending 0" in capsys.readouterr().out


def test_plan_duration_in_hours_below_a_day():
    assert duration(3.5 * 3600) == "3.5 hours" and duration(0.25 * 3600) == "0.2 hours"
    assert duration(2 * 86400) == "2.0 days"


def test_a_twin_is_cached_once_written(tmp_path):
    params = TwinParams("coco", 2, 1)
    assert not is_cached(params, tmp_path)
    ensure_twin(params, tmp_path)
    assert is_cached(params, tmp_path) and not is_cached(TwinParams("coco", 3, 1), tmp_path)
