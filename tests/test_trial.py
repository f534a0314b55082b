"""One trial end to end on a tiny synthetic twin: artifacts, no coordinates in location-free
batches, resume after a kill gives the same numbers, a NaN loss raises and leaves no torn file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny import tiny_config
from harness.config import TrialConfig
from harness.trial import Trial, run_trial
from harness.trial import training
from harness.trial.training import train_epoch
from harness.reference import write_reference
from harness.trial.checkpoint import open_finished
from harness.trial.evaluation import predict
from harness.trial.setup import resolve_dataset

METRIC_KEYS = {"status", "config", "metrics", "curve", "timings", "cost", "response_stats", "machine"}


def test_tiny_trial_writes_every_artifact(tmp_path, twin_cache):
    cfg = tiny_config("coco")
    out = tmp_path / "t"
    result = run_trial(cfg, out, twin_cache=twin_cache)
    assert result["status"] == "completed"
    saved = json.loads((out / "metrics.json").read_text())
    assert METRIC_KEYS <= set(saved)
    assert saved["evaluation"] == {}  # COCO: one way to compute its metrics
    assert TrialConfig.from_dict(saved["config"]) == cfg  # the resolved config round-trips
    for name in ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)"):
        assert name in saved["metrics"]
        v = saved["metrics"][name]
        assert v is None or 0.0 <= v <= 1.0
    assert [row["epoch"] for row in saved["curve"]] == [1, 2]
    row = saved["curve"][-1]
    weights = {"cls_cnn": cfg.model.alpha, "cls_encoder": cfg.model.alpha1, "cls_decoder": cfg.model.alpha2,
               "div": cfg.model.beta}
    assert set(row["losses"]) == set(weights)  # location-free with PDC: no mse term
    for k, w in weights.items():
        assert row["weighted"][k] == pytest.approx(w * row["losses"][k], rel=1e-6)
    assert set(saved["timings"]) >= {"train_s", "eval_s", "wall_s"}
    cost = saved["cost"]
    assert cost["params"] == sum(p.numel() for p in _model(cfg).parameters())
    assert cost["gmacs"] > 0 and cost["train_img_per_s"] > 0 and cost["infer_img_per_s"] > 0
    assert cost["device"] == "cpu"
    preds = json.loads((out / "predictions.json").read_text())
    assert preds and {"image_id", "category_id", "keypoints", "score"} <= set(preds[0])
    assert len(preds[0]["keypoints"]) == 17 * 3
    maps = np.load(out / "maps.npz")
    assert maps["responses"].shape[1:] == (17, 16, 12) and maps["images"].dtype == np.uint8
    protos = np.load(out / "prototypes.npz")
    assert "d" in protos.files and protos["d"].shape == (17, 17)
    assert (out / "per_image.npz").is_file()
    assert set(saved["response_stats"]) == {"Ear", "Eye", "Nose", "Head", "Sho", "Elb", "Wri", "Hip", "Kne", "Ank"}
    # a second call is a no-op: the folder says completed
    mtime = (out / "metrics.json").stat().st_mtime_ns
    assert run_trial(cfg, out, twin_cache=twin_cache)["status"] == "completed"
    assert (out / "metrics.json").stat().st_mtime_ns == mtime
    assert sorted(p.name for p in out.glob("**/metrics.json")) == ["metrics.json"]


def _model(cfg):
    from models.build import build_model

    return build_model(cfg.model)


def test_location_free_batches_carry_no_coordinates(tmp_path, twin_cache, monkeypatch):
    """Inspect every batch the training loop receives."""
    import harness.trial.loaders as loaders

    seen_keys: set[str] = set()
    real = loaders.collate_train

    def spy(samples):
        for s in samples:
            seen_keys.update(s.keys())
        batch = real(samples)
        seen_keys.update(batch.keys())
        return batch

    monkeypatch.setattr(loaders, "collate_train", spy)
    cfg = tiny_config("coco", epochs=1)
    trial = Trial(cfg, tmp_path, twin_cache, torch.device("cpu"))
    train_epoch(trial)
    assert seen_keys == {"image", "labels"}

    seen_keys.clear()
    semi = Trial(tiny_config("coco", regime="semi", fraction=0.5, epochs=1), tmp_path / "s", twin_cache,
                 torch.device("cpu"))
    train_epoch(semi)
    assert {"heatmaps", "target_weight", "location_mask"} <= seen_keys  # the check above can fail


def test_resume_after_kill_gives_identical_metrics(tmp_path, twin_cache):
    cfg = tiny_config("mpii", epochs=3)
    straight = run_trial(cfg, tmp_path / "a", twin_cache=twin_cache)
    partial = run_trial(cfg, tmp_path / "b", twin_cache=twin_cache, stop_after_epoch=1)
    assert partial["status"] == "running" and (tmp_path / "b" / "checkpoint.pt").is_file()
    assert not (tmp_path / "b" / "metrics.json").exists()
    lines: list[str] = []
    resumed = run_trial(cfg, tmp_path / "b", twin_cache=twin_cache, progress=lines.append)
    assert lines[0] == "resuming at epoch 2"
    assert resumed["metrics"] == straight["metrics"]
    assert [r["total"] for r in resumed["curve"]] == [r["total"] for r in straight["curve"]]


def test_nan_loss_raises_and_checkpoint_is_never_torn(tmp_path, twin_cache, monkeypatch):
    cfg = tiny_config("coco", epochs=3)
    poison_from_epoch(monkeypatch, 2)  # the loss turns NaN in epoch 2
    out = tmp_path / "n"
    with pytest.raises(FloatingPointError, match="non-finite loss at epoch 2"):
        run_trial(cfg, out, twin_cache=twin_cache)
    monkeypatch.undo()
    # the checkpoint of epoch 1 is intact and loadable; no temp files are left behind
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1
    clean = Trial(cfg, tmp_path / "fresh", twin_cache, torch.device("cpu"))
    train_epoch(clean)
    for k, v in clean.net.state_dict().items():  # epoch 1 of a clean run = the checkpoint
        assert torch.equal(v, state["model"][k]), k
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    failed = json.loads((out / "metrics.json").read_text())
    assert failed["status"] == "failed" and failed["error"].startswith("FloatingPointError")


def test_warmup_ramps_the_lr_over_its_iterations_then_leaves_the_schedule(tmp_path, twin_cache, monkeypatch):
    """warmup_iters N: iteration i (0-based) runs at (i + 1) / N of the scheduled lr; 0 changes nothing."""
    seen: list[float] = []
    real_step = torch.optim.Adam.step

    def recording(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording)
    cfg = tiny_config("coco", epochs=2)  # 24 instances, batch 8: 3 steps an epoch
    cfg.schedule.warmup_iters = 4
    run_trial(cfg, tmp_path / "w", twin_cache=twin_cache)
    lr = cfg.schedule.lr
    assert seen == pytest.approx([lr / 4, lr / 2, 3 * lr / 4, lr, lr, lr])
    seen.clear()
    run_trial(tiny_config("coco", epochs=2), tmp_path / "plain", twin_cache=twin_cache)
    assert seen == pytest.approx([lr] * 6)


def test_a_late_pdc_onset_trains_as_no_pdc_until_its_epoch_and_logs_the_term(tmp_path, twin_cache):
    """pdc_onset "late" from epoch 2: epoch 1 trains exactly as the same trial without PDC (PDC is a
    criterion term alone, so the same numbers, not close ones), while its div term is still logged
    at weight 0; from epoch 2 it weighs beta and the trials part."""
    late = tiny_config("coco", epochs=2)
    late.schedule.pdc_onset, late.schedule.pdc_from_epoch = "late", 2
    off = tiny_config("coco", epochs=2, pdc=False)
    a = run_trial(late, tmp_path / "late", twin_cache=twin_cache)["curve"]
    b = run_trial(off, tmp_path / "off", twin_cache=twin_cache)["curve"]
    assert a[0]["total"] == b[0]["total"]
    assert {k: v for k, v in a[0]["losses"].items() if k != "div"} == b[0]["losses"]
    assert 0 < a[0]["losses"]["div"] <= 1 and a[0]["weighted"]["div"] == 0.0
    beta = late.model.beta
    assert a[1]["weighted"]["div"] == pytest.approx(beta * a[1]["losses"]["div"])
    assert a[1]["total"] == pytest.approx(sum(a[1]["weighted"].values()))
    assert a[1]["total"] != b[1]["total"]


def test_same_seed_same_numbers_on_cpu(tmp_path, twin_cache):
    a = run_trial(tiny_config("crowdpose", epochs=1), tmp_path / "a", twin_cache=twin_cache)
    b = run_trial(tiny_config("crowdpose", epochs=1), tmp_path / "b", twin_cache=twin_cache)
    assert a["metrics"] == b["metrics"] and a["curve"][0]["total"] == b["curve"][0]["total"]
    c = run_trial(tiny_config("crowdpose", epochs=1, seed=1), tmp_path / "c", twin_cache=twin_cache)
    assert c["curve"][0]["total"] != a["curve"][0]["total"]
    # one machine's arithmetic, whatever the seed: the three records say so alike (harness.trial.machine)
    assert a["machine"] == b["machine"] == c["machine"] and len(a["machine"]["numerics"]) == 12


def test_mean_pose_reference(tmp_path, twin_cache):
    from harness.reference import write_reference
    from harness.trial import resolve_dataset

    cfg = tiny_config("mpii")
    ds = resolve_dataset(cfg.dataset, twin_cache)
    ref = write_reference(ds, cfg.model.input_size, tmp_path / "references" / "mpii_synth.json", 8)
    saved = json.loads((tmp_path / "references" / "mpii_synth.json").read_text())
    assert saved == json.loads(json.dumps(ref))
    assert set(saved["metrics"]) >= {"Head", "Mean", "Mean@0.1"}
    assert 0.0 <= saved["metrics"]["Mean"] <= 1.0
    per = np.load(tmp_path / "references" / "mpii_synth.npz")  # kept for the intervals against it
    assert per["loc_correct"].sum() / per["loc_visible"].sum() == pytest.approx(saved["metrics"]["Mean"])


def test_data_parallel_wrapper_trains_a_sup_only_row_and_changes_no_number(tmp_path, twin_cache):
    """A Sup-only row leaves the classification heads without gradient; the trial's DDP wrapper
    trains it for several steps, and with one worker its parameters equal a plain run's, bit for bit."""
    import torch.distributed as dist

    from harness.trial.distributed import wrap_data_parallel

    cfg = tiny_config("coco", regime="sup_only", epochs=1, spe=False, multi_scale=False, reppg=False, pdc=False,
                      cls_losses=False)
    cpu = torch.device("cpu")
    plain = Trial(cfg, tmp_path / "plain", twin_cache, cpu)
    plain_row = train_epoch(plain)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        ddp = Trial(cfg, tmp_path / "ddp", twin_cache, cpu)
        ddp.model = wrap_data_parallel(ddp.net, cpu)
        ddp_row = train_epoch(ddp)  # 24 instances, batch 8: three steps
    finally:
        dist.destroy_process_group()
    unused = [n for n, p in ddp.net.named_parameters() if p.grad is None]
    assert any("cam" in n for n in unused)  # the heads the row does not train are still there
    assert plain_row == ddp_row and plain.train_images == ddp.train_images == 24
    for k, v in plain.net.state_dict().items():
        assert torch.equal(v, ddp.net.state_dict()[k]), k


def test_mpii_trial_with_the_mat_records_standard_pckh(tmp_path, twin_cache):
    """With the dataset's head_boxes, metrics.json holds the standard PCKh and says so."""
    from mat_files import write_gt_mat

    from harness.evaluation.evaluator import evaluate
    from harness.trial import resolve_dataset

    cfg = tiny_config("mpii", epochs=1)
    ds = resolve_dataset(cfg.dataset, twin_cache)
    ann_path = Path(ds.root) / ds.val_ann
    ann = json.loads(ann_path.read_text())
    joints = np.array([a["joints"] for a in ann], dtype=np.float64)
    boxes = np.concatenate([joints[:, 9] - 6.0, joints[:, 9] + 6.0], axis=1)  # a 12 px head box on head_top
    cfg.dataset.head_boxes = str(write_gt_mat(tmp_path / "gt.mat", joints, np.array([a["joints_vis"] for a in ann]) == 0,
                                             boxes))
    result = run_trial(cfg, tmp_path / "t", twin_cache=twin_cache)
    assert result["evaluation"] == {"head_size_source": "mat"}
    preds = json.loads((tmp_path / "t" / "predictions.json").read_text())
    assert result["metrics"] == evaluate("mpii", ann_path, preds, head_boxes=cfg.dataset.head_boxes).metrics
    assert result["metrics"] != evaluate("mpii", ann_path, preds).metrics


class _NaNTotal:
    """A criterion whose weighted total is NaN: wraps a trial's own (a test wraps the parts)."""

    def __init__(self, inner):
        self.inner, self.weight_dict = inner, inner.weight_dict

    def __call__(self, outputs, targets):
        return self.inner(outputs, targets)

    def total(self, terms, weights=None):
        return self.inner.total(terms, weights) * float("nan")


def poison_from_epoch(monkeypatch, first: int) -> None:
    """From epoch `first` on, every trial's training loop gets a criterion whose total is NaN."""
    real = training.train_one_epoch

    def poisoned(model, criterion, optimizer, batches, epoch, *args, **kwargs):
        return real(model, _NaNTotal(criterion) if epoch >= first else criterion, optimizer, batches, epoch,
                    *args, **kwargs)

    monkeypatch.setattr(training, "train_one_epoch", poisoned)



def test_mirror_term_takes_the_trials_dataset_pairs_and_is_logged(tmp_path, twin_cache):
    """mirror_div "cams" on the MPII twin: the criterion holds MPII's flip pairs (not COCO's, the
    config's default skeleton's dataset), and an epoch logs the `mirror` term at its weight."""
    from harness.data.specs import SPECS

    cfg = tiny_config("mpii", epochs=1, cam_pooling="lse", cam_lse_r=20.0, mirror_div="cams", mirror_weight=0.25)
    trial = Trial(cfg, tmp_path, twin_cache, torch.device("cpu"))
    try:
        assert trial.criterion.mirror_pairs == tuple(SPECS["mpii"].flip_pairs) != tuple(SPECS["coco"].flip_pairs)
        row = train_epoch(trial)
    finally:
        trial.close()
    assert 0 < row["losses"]["mirror"] <= 1
    assert row["weighted"]["mirror"] == pytest.approx(0.25 * row["losses"]["mirror"], rel=1e-6)


def test_open_finished_gives_the_checkpointed_network_read_only_and_refuses_a_bare_folder(tmp_path, twin_cache):
    """harness.trial.checkpoint.open_finished (the probes' way into a finished trial): the network in
    eval mode with the checkpoint's weights and epoch, nothing in the folder rewritten; a folder
    with a metrics.json but no checkpoint is a UserError naming it."""
    from harness.errors import UserError
    from harness.trial.checkpoint import open_finished

    cfg = tiny_config("coco", epochs=1)
    out = tmp_path / "t"
    run_trial(cfg, out, twin_cache=twin_cache)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    with open_finished(out, twin_cache) as trial:
        assert trial.epoch == 1 and not trial.net.training and trial.cfg == cfg
        for name, value in trial.net.state_dict().items():
            assert torch.equal(value, saved["model"][name]), name
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "metrics.json").write_text((out / "metrics.json").read_text())
    with pytest.raises(UserError, match="bare: no checkpoint.pt"):
        with open_finished(bare, twin_cache):
            pass


def test_rescore_scores_a_finished_network_on_another_trials_validation_twin(tmp_path, twin_cache, capsys):
    """experiments/readings/rescore.py: a trial scored on its own validation set gives its own
    per-image counts; scored on the validation twin of another seed it gives exactly what the same
    config trained with that validation seed scored (the training never reads validation images);
    nothing in either trial folder is rewritten; another dataset kind or a bare folder: exit 2."""
    import dataclasses
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "experiments" / "readings" / "rescore.py"
    spec = importlib.util.spec_from_file_location("readings_rescore", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = tiny_config("coco", epochs=1)
    other = dataclasses.replace(cfg, dataset=dataclasses.replace(cfg.dataset, synth_val_seed=1))
    a, b = tmp_path / "a", tmp_path / "b"
    run_trial(cfg, a, twin_cache=twin_cache)
    run_trial(other, b, twin_cache=twin_cache)
    before = {p: p.stat().st_mtime_ns for d in (a, b) for p in d.iterdir()}
    cache = str(twin_cache)
    for on, out in ((a, tmp_path / "a-on-a"), (b, tmp_path / "a-on-b")):
        assert module.main([str(a), "--on", str(on), "--out", str(out), "--twin-cache", cache]) == 0
        mine, theirs = np.load(out / "per_image.npz"), np.load(on / "per_image.npz")
        assert np.array_equal(mine["image_ids"], theirs["image_ids"])
        for key in ("loc_correct", "loc_visible", "cams_loc_correct"):
            assert np.array_equal(mine[key], theirs[key]), (on.name, key)
        record = json.loads((out / "metrics.json").read_text())
        assert record["status"] == "rescored" and record["trained_id"] == cfg.trial_id()
        assert record["metrics"] == json.loads((on / "metrics.json").read_text())["metrics"]
    assert not np.array_equal(np.load(a / "per_image.npz")["image_ids"], np.load(b / "per_image.npz")["image_ids"]) \
        or not np.array_equal(np.load(a / "per_image.npz")["loc_visible"], np.load(b / "per_image.npz")["loc_visible"])
    assert {p: p.stat().st_mtime_ns for d in (a, b) for p in d.iterdir()} == before
    assert f"- {b.name} +0.000 [+0.000, +0.000]" in capsys.readouterr().out
    mpii = tmp_path / "mpii"
    run_trial(tiny_config("mpii", epochs=1), mpii, twin_cache=twin_cache)
    assert module.main([str(a), "--on", str(mpii), "--out", str(tmp_path / "x"), "--twin-cache", cache]) == 2
    assert "trained on coco, cannot be scored on mpii" in capsys.readouterr().err
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "metrics.json").write_text((a / "metrics.json").read_text())
    assert module.main([str(tmp_path / "bare"), "--on", str(a), "--out", str(tmp_path / "y"), "--twin-cache", cache]) == 2


def test_augment_shift_reaches_the_training_crops_only(tmp_path, twin_cache):
    """schedule.augment "shift": the training set's augmentation shifts by crop_shift; the paper's
    augmentation does not; the validation crops are never augmented."""
    import dataclasses

    cfg = tiny_config("coco", epochs=1)
    shifted = dataclasses.replace(cfg, schedule=dataclasses.replace(cfg.schedule, augment="shift", crop_shift=0.25))
    for c, expected in ((cfg, 0.0), (shifted, 0.25)):
        trial = Trial(c, tmp_path / str(expected), twin_cache, torch.device("cpu"))
        try:
            assert trial.train_set.augment.shift == expected and trial.val_set.augment is None
        finally:
            trial.close()


def test_decoder_moves_reads_a_finished_trial_as_its_record_and_its_reference(tmp_path, twin_cache, capsys):
    """experiments/readings/decoder_moves.py on a trained trial with the CAM prior: its responses and
    CAMs read what the trial recorded (the harness's evaluator, another path), its mean pose what
    the reference scores, nothing in the folder is rewritten, and the prior is back on the network
    after the attention-alone pass; a trial without the prior, or without a checkpoint: exit 2."""
    import dataclasses
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "experiments" / "readings" / "decoder_moves.py"
    spec = importlib.util.spec_from_file_location("readings_decoder_moves_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = tiny_config("coco", epochs=1)
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, response_prior="cam"))
    out = tmp_path / "prior"
    run_trial(cfg, out, twin_cache=twin_cache)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    m = module.probe(out, twin_cache)
    record = json.loads((out / "metrics.json").read_text())
    assert m.pck["responses"] == pytest.approx(record["readouts"]["responses"]["PCK@0.1"])
    assert m.pck["cams"] == pytest.approx(record["readouts"]["cams"]["PCK@0.1"])
    ref = write_reference(resolve_dataset(cfg.dataset, twin_cache), cfg.model.input_size, tmp_path / "ref.json",
                          cfg.schedule.max_val_instances)
    assert m.pck["mean pose"] == pytest.approx(ref["metrics"]["PCK@0.1"])
    assert m.gained - m.lost == pytest.approx(m.pck["responses"] - m.pck["cams"])
    d, lo, hi = m.attention_vs_mean_pose
    assert d == pytest.approx(m.pck["attention"] - m.pck["mean pose"]) and lo <= d <= hi
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    with open_finished(out, twin_cache) as trial:
        prior = trial.net.response_prior
        alone = module.attention_alone(trial)
        assert trial.net.response_prior is prior and prior is not None
        with_prior = predict(trial).instances["responses"]
    assert [a["index"] for a in alone] == [w["index"] for w in with_prior]
    assert not all(np.array_equal(a["keypoints"], w["keypoints"]) for a, w in zip(alone, with_prior))
    plain = tmp_path / "plain"
    run_trial(tiny_config("coco", epochs=1), plain, twin_cache=twin_cache)
    assert module.main([str(plain), "--twin-cache", str(twin_cache)]) == 2
    assert "has no CAM prior" in capsys.readouterr().err
