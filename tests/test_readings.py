"""The paper's readings: the declaration against the config (keys, literal defaults, choices), trial
ids that survive new fields (pinned on today's ids), and what the optimiser, label and twin
readings compute, on tiny cases."""
from __future__ import annotations

import dataclasses
import io
import typing
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from harness.config import ConfigError, ScheduleConfig, TrialConfig, field_type
from harness.data.synth import TwinParams, write_twin
from harness.data.targets import image_labels
from harness.config.identity import flatten, unflatten
from harness.matrix import expand
from harness.paper import readings
from harness.trial.optimizer import build_optimizer, build_scheduler
from harness.trial.training import epoch_weights
from models import choices
from models.config import LOFRConfig

ROOT = Path(__file__).resolve().parents[1]
# The values each model reading's field accepts (LOFRConfig checks them in __post_init__).
MODEL_VALUES = {
    "model.keypoint_vector_weights": choices.VECTOR_WEIGHTS, "model.part_pooling": choices.PART_POOLINGS,
    "model.spe_fusion": choices.SPE_FUSIONS, "model.spe_position": choices.SPE_POSITIONS, "model.response_merge": choices.RESPONSE_MERGES,
    "model.cam_pooling": choices.CAM_POOLINGS, "model.shared_encoder": (True, False), "model.cam_stride": choices.CAM_STRIDES,
    "model.response_prior": choices.RESPONSE_PRIORS, "model.keypoint_vector_gradient": choices.VECTOR_GRADIENTS,
    "model.memory_gradient": choices.MEMORY_GRADIENTS, "model.pdc_on": choices.PDC_TARGETS,
    "model.mirror_div": choices.MIRROR_TERMS,
}
# Choices that read another key need it set to build (e.g. the sharpness r of "lse").
PARAMS = {("model.part_pooling", "lse"): {"model.decoder_lse_r": 5.0},
          ("schedule.cnn_lr_drop", "early"): {"schedule.cnn_lr_steps": [4]},
          ("model.mirror_div", "cams"): {"model.cam_pooling": "lse"},
          ("schedule.augment", "shift"): {"schedule.crop_shift": 0.25},
          ("schedule.pdc_onset", "late"): {"schedule.pdc_from_epoch": 3, "model.pdc": True}}
# A value for each choice that stands for any other value of a numeric field (readings.ANY).
SAMPLES = {("schedule.warmup_iters", readings.ANY): 500}


def _value(p: readings.Passage, c: readings.Choice):
    return SAMPLES[(p.key, c.value)] if c.value == readings.ANY else c.value


def _field(dotted: str) -> dataclasses.Field:
    section, name = dotted.split(".")
    cls = typing.get_type_hints(TrialConfig)[section]
    return next(f for f in dataclasses.fields(cls) if f.name == name)


def _with(flat: dict) -> TrialConfig:
    return TrialConfig.from_dict(unflatten(flat))


def test_every_passage_is_a_config_field_whose_default_is_the_literal_choice():
    assert len({p.name for p in readings.PASSAGES}) == len(readings.PASSAGES)
    default = flatten(TrialConfig().to_dict())
    for p in readings.PASSAGES:
        assert field_type(TrialConfig, p.key) is not None, p.key
        assert default[p.key] == p.literal.value, p.name
        assert p.quote and p.where and p.why
        if any(c.value == readings.ANY for c in p.choices):  # a numeric field: the listed values and any other
            assert "choices" not in _field(p.key).metadata["range"], p.name
            assert [c.value for c in p.choices][-1] == readings.ANY, p.name
        else:
            accepted = MODEL_VALUES.get(p.key) or _field(p.key).metadata["range"]["choices"]
            assert {c.value for c in p.choices} == set(accepted), p.name
        for c in p.choices:  # each choice is a config value that builds and reads back as that choice
            cfg = _with({p.key: _value(p, c), **PARAMS.get((p.key, c.value), {})})
            assert flatten(cfg.to_dict())[p.key] == _value(p, c)
            assert p.choice(_value(p, c)) is c, p.name
            for param in c.params:
                assert field_type(TrialConfig, param) is not None, param
    with pytest.raises(ConfigError, match="decay"):
        _with({"schedule.decay": "adamw"})


def test_resolved_readings_and_their_departures_from_the_literal_ones():
    flat = flatten(TrialConfig().to_dict())
    assert all(r["tag"] == readings.LITERAL for r in readings.resolved(flat).values())
    assert readings.departures(flat) == [] and readings.describe(flat) == ""
    flat.update({"model.part_pooling": "score_map", "model.cam_stride": 8, "schedule.decay": "decoupled"})
    tags = {p.name: c.tag for p, c, _ in readings.departures(flat)}
    assert tags == {"part_pooling": readings.READING, "cam_stride": readings.BEYOND, "weight_decay": readings.READING}
    text = readings.describe(flat)
    assert "part_pooling=score_map" in text and "(beyond the paper)" in text and "weight_decay 0.0001" in text
    # a tuple parameter reads as its items (it printed "cnn_lr_steps (4,)" before)
    flat.update({"schedule.cnn_lr_drop": "early", "schedule.cnn_lr_steps": (4, 8)})
    assert "cnn_lr=early [cnn_lr_steps 4, 8]" in readings.describe(flat)
    # a numeric passage: any value but the literal one reads as its ANY choice
    flat["schedule.warmup_iters"] = 250
    assert "warmup=250 (beyond the paper)" in readings.describe(flat)
    assert readings.resolved(flat)["warmup"]["tag"] == readings.BEYOND
    # a reading of a module switched off is not described: nothing runs it (round 30's baseline rows
    # read "spe_fusion=outer (reading)" with SPE off); it still counts as a departure of the config
    flat.update({"model.spe_fusion": "outer", "model.keypoint_vector_gradient": "stopped"})
    assert "spe_fusion=outer (reading)" in readings.describe(flat) and "reppg_gradient=stopped" in readings.describe(flat)
    flat.update({"model.spe": False, "model.reppg": False})
    assert "spe_fusion" not in readings.describe(flat) and "reppg_gradient" not in readings.describe(flat)
    assert {"spe_fusion", "reppg_gradient"} <= {p.name for p, _, _ in readings.departures(flat)}
    assert "part_pooling=score_map" in readings.describe(flat)  # read by the decoder, SPE or not


# -- trial ids ------------------------------------------------------------------------------------

def test_trial_ids_of_today_survive_new_fields():
    """Pinned: the synthetic scale's Table 5 baseline row had id 52833e5d6019 on 2026-12-01 (before
    any reading was a field); a new field at its default leaves ids alone, another value moves them."""
    plan = expand(ROOT / "run_matrix.yaml", "synthetic")
    base = next(t for t in plan.trials if "table5" in t.studies and not any(
        (t.config.model.spe, t.config.model.multi_scale, t.config.model.reppg, t.config.model.pdc)))
    assert base.id == "52833e5d6019"
    cfg = base.config
    assert cfg.trial_id() == "52833e5d6019"
    flat = flatten(cfg.to_dict())
    for p in readings.PASSAGES:
        for c in p.choices:
            other = _with({**flat, p.key: _value(p, c), **PARAMS.get((p.key, c.value), {})})
            assert (other.trial_id() == base.id) == (_value(p, c) == flat[p.key]), p.name
    # the same config rebuilt from its dict (defaults written out) keeps the id
    assert TrialConfig.from_dict(cfg.to_dict()).trial_id() == base.id


# -- what the readings compute --------------------------------------------------------------------

class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 1, bias=False)  # the "cnn" group
        self.decoder = nn.Linear(2, 1, bias=False)  # the "transformer" group


@pytest.mark.parametrize("decay", ["l2", "decoupled", "cnn_only"])
def test_adamw_and_adam_l2_differ_on_a_zero_gradient_parameter_as_their_formulas_say(decay):
    net = _Tiny()
    start = torch.tensor([[0.5, -2.0]])
    for m in (net.backbone, net.decoder):
        m.weight.data.copy_(start)
    lr, wd = 0.01, 0.1
    opt = build_optimizer(net, ScheduleConfig(lr=lr, transformer_lr_mult=1.0, weight_decay=wd, decay=decay))
    for p in net.parameters():
        p.grad = torch.zeros_like(p)  # the loss does not train them at all
    opt.step()
    # Adam + L2: the gradient is wd * theta; Adam's first step moves by lr * g / (|g| + eps)
    l2 = start - lr * (wd * start) / ((wd * start).abs() + 1e-8)
    # AdamW: theta * (1 - lr * wd) and no Adam step (its moments are zero)
    decoupled = start * (1 - lr * wd)
    expect = {"l2": (l2, l2), "decoupled": (decoupled, decoupled), "cnn_only": (l2, start)}[decay]
    assert torch.allclose(net.backbone.weight, expect[0], atol=1e-7)
    assert torch.allclose(net.decoder.weight, expect[1], atol=1e-7)


class _ThreeGroups(nn.Module):
    """One parameter per group under transformer_scope "layers": the CNN branch, the rest outside
    the transformer's layers, and a layer."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(1, 1, bias=False)
        self.input_proj = nn.Linear(1, 1, bias=False)
        self.decoder = nn.Linear(1, 1, bias=False)


def _lrs_by_epoch(s: ScheduleConfig, epochs: int, state: dict | None = None) -> list[dict[str, float]]:
    """Each epoch's lr per group; `state`: {"optimizer", "scheduler"} state dicts to resume from."""
    opt = build_optimizer(_ThreeGroups(), s)
    sched = build_scheduler(opt, s)
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
    out = []
    for _ in range(epochs):
        out.append({g["name"]: g["lr"] for g in opt.param_groups})
        opt.step()
        sched.step()
    return out


def test_cnn_lr_drop_early_drops_the_cnn_branch_alone_at_its_own_steps():
    """Readings round 10's schedule, against lrs written out by hand: lr 0.004, the transformer's
    layers x0.1, every group x0.1 after epoch 9, the CNN branch x0.1 more after epoch 4."""
    s = ScheduleConfig(lr=0.004, transformer_lr_mult=0.1, transformer_scope="layers", lr_steps=(9,),
                       cnn_lr_drop="early", cnn_lr_steps=(4,), decay="decoupled")
    got = _lrs_by_epoch(s, 10)
    cnn = [0.004] * 4 + [0.0004] * 5 + [0.00004]
    other = [0.004] * 9 + [0.0004]
    transformer = [0.0004] * 9 + [0.00004]
    for name, expect in (("cnn", cnn), ("other", other), ("transformer", transformer)):
        assert [e[name] for e in got] == pytest.approx(expect, rel=1e-12), name
    # the paper's schedule keeps the two groups it always had, and MultiStepLR's lrs
    literal = _lrs_by_epoch(dataclasses.replace(s, cnn_lr_drop="with_all", cnn_lr_steps=()), 10)
    assert [set(e) for e in literal] == [{"cnn", "transformer"}] * 10
    assert [e["cnn"] for e in literal] == pytest.approx(other, rel=1e-12)


def test_cnn_lr_drop_early_resumes_from_a_weights_only_checkpoint():
    s = ScheduleConfig(lr=0.01, transformer_lr_mult=0.1, lr_steps=(6,), cnn_lr_drop="early", cnn_lr_steps=(2, 4))
    opt = build_optimizer(_ThreeGroups(), s)
    sched = build_scheduler(opt, s)
    for _ in range(3):
        opt.step()
        sched.step()
    buffer = io.BytesIO()
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    resumed = _lrs_by_epoch(s, 5, state)  # epochs 4-8 of the trial
    assert _lrs_by_epoch(s, 8)[3:] == resumed  # the same arithmetic: equal, not close
    assert resumed[0]["cnn"] == pytest.approx(0.01 * 0.1) and resumed[1]["cnn"] == pytest.approx(0.01 * 0.01)


@pytest.mark.parametrize("drop, steps, problem", [("early", (), "needs the epochs"), ("with_all", (4,), "read only")])
def test_cnn_lr_steps_go_with_the_early_drop_only(drop, steps, problem):
    with pytest.raises(ConfigError, match=problem):
        ScheduleConfig(cnn_lr_drop=drop, cnn_lr_steps=steps)


@pytest.mark.parametrize("onset, epoch, problem", [("late", 0, "needs the first epoch"),
                                                   ("late", 1, "needs the first epoch"),
                                                   ("start", 3, "read only")])
def test_pdc_from_epoch_goes_with_the_late_onset_only(onset, epoch, problem):
    with pytest.raises(ConfigError, match=problem):
        ScheduleConfig(pdc_onset=onset, pdc_from_epoch=epoch)


def test_a_late_pdc_onset_needs_pdc_and_an_epoch_the_trial_reaches():
    late = {"schedule.pdc_onset": "late", "schedule.pdc_from_epoch": 3, "schedule.epochs": 5}
    assert _with(late).schedule.pdc_from_epoch == 3
    with pytest.raises(ConfigError, match="model.pdc is off"):
        _with({**late, "model.pdc": False})
    with pytest.raises(ConfigError, match="after the last"):
        _with({**late, "schedule.epochs": 2})


def test_epoch_weights_zero_pdc_before_a_late_onset_and_nothing_else():
    w = {"cls_cnn": 0.2, "cls_encoder": 0.2, "cls_decoder": 0.5, "div": 0.01, "mse": 1.0}
    late = ScheduleConfig(pdc_onset="late", pdc_from_epoch=3)
    assert [epoch_weights(w, late, e)["div"] for e in (1, 2, 3, 4)] == [0.0, 0.0, 0.01, 0.01]
    assert all(epoch_weights(w, late, 1)[k] == v for k, v in w.items() if k != "div")
    assert all(epoch_weights(w, ScheduleConfig(), e) == w for e in (1, 2, 3))
    assert w["div"] == 0.01  # the criterion's own dict is never changed
    no_pdc = {k: v for k, v in w.items() if k != "div"}
    assert epoch_weights(no_pdc, late, 1) == no_pdc


def test_image_labels_in_the_crop_or_annotated():
    joints = np.array([[10.0, 5.0, 2], [60.0, 5.0, 1], [-3.0, 5.0, 2], [10.0, 5.0, 0]])  # in, outside x2, unlabelled
    assert image_labels(joints, (64, 48), "in_crop").tolist() == [1, 0, 0, 0]
    assert image_labels(joints, (64, 48), "annotated").tolist() == [1, 1, 1, 0]


def test_a_validation_seed_draws_other_validation_images_beside_the_same_training_images(tmp_path):
    a = write_twin(TwinParams("coco", 3, 2, seed=0), tmp_path / "a")
    b = write_twin(TwinParams("coco", 3, 2, seed=0, val_seed=7), tmp_path / "b")
    def files(paths, split):
        return sorted(Path(paths["root"], paths[f"{split}_images"]).glob("*.jpg"))
    for x, y in zip(files(a, "train"), files(b, "train"), strict=True):
        assert x.read_bytes() == y.read_bytes()
    assert all(x.read_bytes() != y.read_bytes() for x, y in zip(files(a, "val"), files(b, "val"), strict=True))
    assert TwinParams("coco", 3, 2).cache_key() != TwinParams("coco", 3, 2, val_seed=7).cache_key()
    assert TwinParams("coco", 3, 2, val_seed=None).manifest() == TwinParams("coco", 3, 2).manifest()
    assert "val_seed" not in TwinParams("coco", 3, 2).manifest()  # old twins keep their cache keys


# -- where the readings are shown -----------------------------------------------------------------

def test_harness_readings_prints_every_passage_without_torch_or_datasets(tmp_path):
    """`harness readings` in a fresh interpreter where torch cannot be imported, from an empty folder."""
    import json
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "from harness.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    env_root = str(ROOT)
    text = subprocess.run([sys.executable, "-c", code, "readings"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": env_root, "PATH": ""}, timeout=120)
    assert text.returncode == 0, text.stderr[-2000:]
    for p in readings.PASSAGES:
        assert f"{p.name}  ({p.where})  key: {p.key}" in text.stdout
        assert f"* {p.literal.value!s:15} literal" in text.stdout
    as_json = subprocess.run([sys.executable, "-c", code, "readings", "--json"], cwd=tmp_path, capture_output=True,
                             text=True, env={"PYTHONPATH": env_root, "PATH": ""}, timeout=120)
    listed = json.loads(as_json.stdout)
    assert [p["name"] for p in listed] == [p.name for p in readings.PASSAGES]
    assert all(p["default"] == p["choices"][0]["value"] and p["choices"][0]["tag"] == "literal" for p in listed)


def test_plan_marks_the_trials_whose_readings_are_not_literal(tmp_path):
    from harness.matrix.plan_view import plan_table

    plan = expand(ROOT / "run_matrix.yaml", "screen")
    text = plan_table(plan, tmp_path)
    lines = {line[:12]: line for line in text.splitlines() if line[:12] in {t.id for t in plan.trials}}
    header = next(line for line in text.splitlines() if line.startswith("id "))
    column = header.index(" rd ") + 1
    for t in plan.trials:
        n = len(readings.departures(flatten(t.config.to_dict())))
        assert lines[t.id][column:column + 2].strip() == str(n)
    assert "part_pooling=score_map [decoder_lse_r 0] (reading)" in text and "(beyond the paper)" in text
    smoke = plan_table(expand(ROOT / "run_matrix.yaml", "smoke"), tmp_path)
    assert "rd: how many" not in smoke  # the smoke scale reads the paper literally


def test_the_report_names_the_readings_that_differ_beside_each_row_with_their_tags():
    from harness.report.rows import Row
    from harness.report.rows import flatten as flatten_row
    from harness.report.study_tables import label_columns, shared_readings_note
    from harness.tables import TABLES

    def row(number: int, **model) -> Row:
        cfg = TrialConfig.from_dict({"model": {"cam_stride": 8, **model}, "schedule": {"decay": "decoupled"}})
        return Row(number, flatten_row(cfg.to_dict()))

    rows = [row(1), row(2, part_pooling="score_map"), row(3, part_pooling="lse", decoder_lse_r=10.0)]
    columns = dict(label_columns(TABLES["table5"], rows))
    assert "Readings (not literal)" in columns and "model.part_pooling" not in columns
    assert "model.decoder_lse_r" not in columns  # a choice's parameter is shown inside its reading
    texts = [columns["Readings (not literal)"](r.flat) for r in rows]
    assert texts[0] == "as every row"  # what all rows share is in the note, not repeated on each row
    assert texts[1] == "part_pooling=score_map [decoder_lse_r 0] (reading)"
    assert texts[2] == "part_pooling=lse [decoder_lse_r 10] (beyond the paper)"
    note = shared_readings_note(rows)
    assert "cam_stride=8 (beyond the paper)" in note and "part_pooling" not in note
    same = [row(1), row(2, spe=False)]
    assert "Readings (not literal)" not in dict(label_columns(TABLES["table5"], same))
    note = shared_readings_note(same)
    assert "weight_decay=decoupled [weight_decay 0.0001] (reading)" in note and "cam_stride=8 (beyond the paper)" in note
    assert shared_readings_note([Row(1, flatten_row(TrialConfig().to_dict()))]) is None  # literal: nothing to say
