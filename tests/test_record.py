"""`MetricsRecord` (metrics.json as a dataclass): round trips, the failed form, bad shapes."""
from __future__ import annotations

import json

import pytest

from harness.errors import UserError
from harness.record import MetricsRecord


def _completed() -> MetricsRecord:
    return MetricsRecord(
        status="completed", config={"seed": 3, "model": {"d_model": 32}}, metrics={"AP": 0.25, "AR": None},
        curve=[{"epoch": 1, "losses": {"cls_cnn": 0.7}, "weighted": {"cls_cnn": 0.14}, "total": 0.14,
                "lr": 0.001, "val": {"AP": 0.25}}],
        timings={"train_s": 1.5, "eval_s": 0.5, "wall_s": 2.5}, cost={"params": 10, "device": "cpu"},
        response_stats={"Head": 0.5, "Ank": None}, data={"train_instances": 24, "val_instances": 8},
        classification={"cnn": {"mAP": 0.9, "chance_mAP": 0.75, "joints_scored": 17}},
        readouts={"responses": {"PCK@0.1": 0.25}, "cams": {"PCK@0.1": None}},
        errors={"overall": {"good": 0.25, "miss": 0.75}}, evaluation={"head_size_source": "mat"},
        diagnostics={"attention_entropy": 0.8, "uniform_fraction": 0.0, "decoder_weight_norm": None},
        readings={"labels": {"key": "supervision.labels", "value": "in_crop", "tag": "literal", "params": {}}},
        node="9eaec29ef6437aaf", host="lab-gpu-2",
        machine={"cpu": "AMD EPYC", "cpu_flags": "0123456789ab", "threads": 1, "torch": "2.14.1", "device": "cpu",
                 "numerics": "ba9876543210"}, attempts=2, world_size=1,
        worker={"pid": 4321, "trial_in_process": 2})


def test_completed_record_round_trips_through_json():
    rec = _completed()
    text = json.dumps(rec.to_json())
    assert MetricsRecord.from_json(json.loads(text)) == rec
    assert set(json.loads(text)) == {"status", "config", "metrics", "curve", "timings", "attempts", "world_size",
                                     "cost", "response_stats", "data", "classification", "readouts", "errors",
                                     "evaluation", "diagnostics", "readings", "node", "host", "machine", "worker"}


def test_a_record_from_before_machine_reads_with_an_unknown_machine():
    data = _completed().to_json()
    del data["machine"]
    assert MetricsRecord.from_json(data).machine == {}


def test_failed_record_keeps_only_why_it_failed():
    rec = MetricsRecord.failed({"seed": 0}, "FloatingPointError: non-finite loss", "Traceback ...", attempts=3)
    data = rec.to_json()
    assert data == {"status": "failed", "error": "FloatingPointError: non-finite loss", "config": {"seed": 0},
                    "attempts": 3, "traceback": "Traceback ..."}
    back = MetricsRecord.from_json(data)
    assert (back.status, back.error, back.attempts, back.completed) == ("failed", rec.error, 3, False)


def test_nan_metrics_read_as_undefined_and_unknown_keys_are_ignored():
    data = _completed().to_json()
    data["metrics"]["AP"] = float("nan")
    data["from_the_future"] = {"x": 1}
    assert MetricsRecord.from_json(data).metrics == {"AP": None, "AR": None}


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.pop("status"), "has no 'status'"),
    (lambda d: d.pop("metrics"), "has no 'metrics'"),
    (lambda d: d.update(curve={"epoch": 1}), "'curve' must be a list"),
    (lambda d: d.update(cost=[1, 2]), "'cost' must be a mapping"),
    (lambda d: d.update(evaluation="mat"), "'evaluation' must be a mapping"),
    (lambda d: d["metrics"].update(AP="high"), "'metrics.AP' must be a number or null"),
    (lambda d: d.update(readouts={"cams": 0.3}), "'readouts' must map each read-out"),
    (lambda d: d["readouts"].update(cams={"PCK@0.1": "x"}), "'readouts.cams.PCK@0.1' must be a number"),
])
def test_a_bad_shape_is_one_line_naming_the_file(change, problem):
    data = _completed().to_json()
    change(data)
    with pytest.raises(UserError, match=problem) as err:
        MetricsRecord.from_json(data, "results/m/abc/metrics.json")
    assert str(err.value).startswith("results/m/abc/metrics.json: ")
