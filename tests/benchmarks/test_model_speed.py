"""Speed of the LOFR network: a training step and a forward pass of every Table 5 module
combination and every Table 6 depth, each against the Table 5 baseline measured in the same run.

Configurations come from `run_matrix.yaml` itself (`harness.matrix.expand`), so the benchmarks
time exactly what the matrix trains:

- CPU: the `synthetic` scale (what the matrix trains on CPU: resnet18 at 64x48 with a 64-wide
  transformer when this was written), one torch thread (a CPU trial runs with
  `cpus_per_trial: 1`), float32;
- CUDA (skipped without a GPU): the `full` scale (ResNet-50, 256x192, d_model 256), bf16
  autocast and channels_last as a trial runs, `torch.cuda.synchronize()` before and after every
  timed step.

The batch is the trial's own `schedule.batch_size` (2 when benchmarks are disabled).

A training step is what `harness/trial/training.py` does per batch: forward under `autocast_for`, the
criterion, the weighted total, zero_grad, backward, Adam over `models.param_groups` with the
trial's schedule. The forward pass is one `eval()` pass under `no_grad` (a trial's validation
runs it twice, with the flip test). Inputs are random tensors of the contract's shapes: the data
pipeline is timed in test_data_speed.py. Table 6's (4, 6) row is Table 5's "all" (the matrix
deduplicates them into one trial), so it is timed once, as t5-all. PDC is a loss term only, so
the forward pass of t5-pdc is the baseline's network: its forward ratio shows the noise of a run.

Ratios: every test also builds the t5-baseline at the same scale and batch and runs one baseline
step before each of its own rounds (pytest-benchmark's untimed setup, timed by hand), so the two
alternate and load from other processes hits both alike; the ratio is this configuration's img/s
over the baseline's from those interleaved calls. `mac_throughput_ratio` is the same ratio
weighted by the work per image: GMACs x img/s against the baseline's, i.e. the share of the
baseline's arithmetic rate that this configuration reaches. It is the target (full LOFR training
step >= 0.8, on CPU and on CUDA) because it is what the code can improve: the extra GMACs of
LOFR's modules (the multi-scale attention above all) are the paper's design, their rate is ours.
On CPU the same rates and ratios also come from CPU time (one thread: what one core does,
whatever else runs on the machine). Also recorded: parameters and GMACs from
`harness.cost` (as every trial's metrics.json), the achieved TFLOP/s beside what `harness plan`
assumes when nothing was measured, on CUDA the peak memory of this configuration's training step
alone.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import pytest
import torch

from harness.config import TrialConfig
from harness.cost import autocast_for, count_gmacs, count_params, peak_memory_mb
from harness.matrix.plan_view import ASSUMED_TFLOPS
from models.build import build_criterion, build_model, param_groups
from models.decode import decode_responses

OFF = dict(spe=False, multi_scale=False, reppg=False, pdc=False)
TABLE5 = [  # (id, switches) in the paper's row order; TABLE5[0] is every ratio's baseline
    ("t5-baseline", OFF),
    ("t5-spe", {**OFF, "spe": True}),
    ("t5-ms", {**OFF, "multi_scale": True}),
    ("t5-reppg", {**OFF, "reppg": True}),
    ("t5-pdc", {**OFF, "pdc": True}),
    ("t5-spe-ms", {**OFF, "spe": True, "multi_scale": True}),
    ("t5-reppg-pdc", {**OFF, "reppg": True, "pdc": True}),
    ("t5-all", {"spe": True, "multi_scale": True, "reppg": True, "pdc": True}),
]
# after Table 5: `rate_to_e4d6` reads t5-all's rate from this session
TABLE6 = [(f"t6-e{e}d{d}", {"enc_layers": e, "dec_layers": d}) for e, d in [(2, 2), (3, 3), (4, 4), (6, 4), (6, 6)]]
FULL_LOFR = "t5-all"
TARGET_MAC_RATIO = 0.8  # the full LOFR training step at >= 0.8x the baseline's GMACs x img/s


@dataclass(frozen=True)
class Setting:
    device: str
    scale: str  # the matrix scale the configurations come from
    rounds_train: int
    rounds_forward: int
    warmup: int


SETTINGS = {
    "cpu": Setting("cpu", "synthetic", rounds_train=5, rounds_forward=10, warmup=1),
    "cuda": Setting("cuda", "full", rounds_train=20, rounds_forward=30, warmup=5),
}
SMOKE_BATCH = 2  # with --benchmark-disable the code runs once, on a smaller batch
CASES = [(dev, name, want) for dev in SETTINGS for name, want in TABLE5 + TABLE6]
IDS = [f"{dev}-{name}" for dev, name, _ in CASES]


def _trial_config(plans, setting: Setting, name: str, want: dict) -> TrialConfig:
    """The matrix's (deduplicated) trial for this row of Table 5 on COCO; a Table 6 depth is the
    full model (Table 5's last row) at that depth (the synthetic scale does not run Table 6)."""
    depth = {k: want[k] for k in ("enc_layers", "dec_layers") if k in want}
    if name.startswith("t6"):
        want = {"spe": True, "multi_scale": True, "reppg": True, "pdc": True}
    found = {t.config.trial_id(): t.config for t in plans[setting.scale].trials
             if "table5" in t.studies and t.config.dataset.kind == "coco"
             and all(getattr(t.config.model, k) == v for k, v in want.items())}
    assert len(found) == 1, f"table5 at scale {setting.scale} has {len(found)} trials matching {want}"
    cfg = next(iter(found.values()))
    return replace(cfg, model=replace(cfg.model, **depth)) if depth else cfg


def _device(setting: Setting) -> torch.device:
    if setting.device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device: the ResNet-50 256x192 bf16 benchmarks need a GPU")
    return torch.device(setting.device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _inputs(cfg: TrialConfig, device: torch.device, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images (channels_last on CUDA, as a trial feeds them) and image-level labels."""
    h, w = cfg.model.input_size
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(batch, 3, h, w, generator=gen).to(device)
    if device.type == "cuda":
        images = images.contiguous(memory_format=torch.channels_last)
    labels = (torch.rand(batch, cfg.model.num_keypoints, generator=gen) > 0.3).float().to(device)
    return images, labels


def _network(cfg: TrialConfig, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    net = build_model(cfg.model).to(device)
    return net.to(memory_format=torch.channels_last) if device.type == "cuda" else net


@dataclass
class Training:
    """One trial's training state on a fixed batch; `step()` is harness/trial/training.py's loop body."""

    net: torch.nn.Module
    groups: list[dict]
    step: Callable[[], torch.Tensor]


def _training(cfg: TrialConfig, device: torch.device, batch: int) -> Training:
    net = _network(cfg, device).train()
    images, labels = _inputs(cfg, device, batch)
    criterion = build_criterion(cfg.model)
    weights = criterion.weight_dict
    s = cfg.schedule
    groups = param_groups(net, s.lr, s.transformer_lr_mult)
    optimizer = torch.optim.Adam(groups, lr=s.lr, weight_decay=s.weight_decay)

    def step() -> torch.Tensor:
        with autocast_for(device):
            outputs = net(images)
        losses = criterion(outputs, {"labels": labels})
        total = sum(weights[k] * v for k, v in losses.items())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        _sync(device)
        return total.detach()

    return Training(net, groups, step)


def _inference(cfg: TrialConfig, device: torch.device, batch: int) -> tuple[torch.nn.Module, Callable[[], dict]]:
    net = _network(cfg, device).eval()
    images, _ = _inputs(cfg, device, batch)

    @torch.no_grad()
    def forward() -> dict:
        with autocast_for(device):
            out = net(images)
        _sync(device)
        return out

    return net, forward


class Timed:
    """A call that records its wall and CPU seconds (this process, all threads) every time."""

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __call__(self) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        out = self.fn()
        self.cpu.append(time.process_time() - c0)
        self.wall.append(time.perf_counter() - w0)
        return out


def _alternating(device: torch.device, baseline: Timed | None) -> Callable[[], None]:
    """pytest-benchmark's (untimed) setup: one baseline call before every round, then a sync."""

    def setup() -> None:
        _sync(device)
        if baseline is not None:
            baseline()

    return setup


def _record(benchmark, figures, key: str, images: int, rounds: int, on: torch.device, timed: Timed,
            base: Timed | None, **kwargs) -> float | None:
    """img/s (wall: pytest-benchmark's rounds; CPU time on CPU), ratios to the interleaved baseline."""
    on_cpu = on.type == "cpu"
    return figures.record(
        benchmark, key, images, "img_per_s", cpu_seconds=timed.cpu[-rounds:] if on_cpu else None,
        baseline="t5-baseline", baseline_seconds=base.wall[-rounds:] if base else [],
        baseline_cpu_seconds=(base.cpu[-rounds:] if base else []) if on_cpu else None, **kwargs)


def _common_info(cfg: TrialConfig, setting: Setting, device: torch.device, batch: int, net) -> dict:
    m = cfg.model
    info = {
        "config": {k: getattr(m, k) for k in ("spe", "multi_scale", "reppg", "pdc", "enc_layers", "dec_layers")},
        "backbone": m.backbone, "input_size": list(m.input_size), "d_model": m.d_model, "batch": batch,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "dtype": "bf16 autocast" if device.type == "cuda" else "float32",
        "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "matrix_scale": setting.scale,
        "params": count_params(net), "gmacs": count_gmacs(m, model=net),
    }
    return info


_BASELINE_GMACS: dict[str, float] = {}


def _baseline_gmacs(plans, setting: Setting) -> float:
    """GMACs per image of the t5-baseline at this setting's scale (the ratios' denominator)."""
    if setting.scale not in _BASELINE_GMACS:
        _BASELINE_GMACS[setting.scale] = count_gmacs(_trial_config(plans, setting, *TABLE5[0]).model)
    return _BASELINE_GMACS[setting.scale]


def _tflops(gmacs: float, img_per_s: float | None, passes: int) -> float | None:
    """Achieved TFLOP/s: `passes` x forward FLOPs (2 per MAC) per image (a training step ~ 3)."""
    return None if img_per_s is None else passes * 2 * gmacs * 1e9 * img_per_s / 1e12


def _efficiency(benchmark, gmacs: float, rate: float | None, passes: int, device: torch.device) -> None:
    kind = "gpu" if device.type == "cuda" else "cpu"
    benchmark.extra_info.update(achieved_tflops=_tflops(gmacs, rate, passes),
                                plan_assumed_tflops=ASSUMED_TFLOPS[kind])


@pytest.mark.parametrize(("device_kind", "name", "want"), CASES, ids=IDS)
def test_train_step(benchmark, figures, matrix_plans, one_core, device_kind, name, want):
    setting = SETTINGS[device_kind]
    device = _device(setting)
    cfg = _trial_config(matrix_plans, setting, name, want)
    batch = SMOKE_BATCH if benchmark.disabled else cfg.schedule.batch_size
    benchmark.group = f"train-step-{device_kind}"
    run = _training(cfg, device, batch)
    before = [[p.detach().clone() for p in g["params"]] for g in run.groups]
    peak = None
    if device.type == "cuda":  # this configuration alone (the baseline is built after)
        torch.cuda.reset_peak_memory_stats(device)
        run.step()
        peak = peak_memory_mb(device)
    base = None if benchmark.disabled else Timed(
        _training(_trial_config(matrix_plans, setting, *TABLE5[0]), device, batch).step)
    step = Timed(run.step)

    total = benchmark.pedantic(step, setup=_alternating(device, base), rounds=setting.rounds_train,
                               warmup_rounds=setting.warmup, iterations=1)

    assert math.isfinite(float(total))
    for group, old in zip(run.groups, before):  # every parameter group was updated by the step
        assert any(not torch.equal(p.detach(), q) for p, q in zip(group["params"], old)), group["name"]
    info = _common_info(cfg, setting, device, batch, run.net)
    target = dict(target=("mac_throughput_ratio", ">=", TARGET_MAC_RATIO)) if name == FULL_LOFR else {}
    rate = _record(benchmark, figures, f"train/{device_kind}/{name}", batch, setting.rounds_train, device,
                   step, base, macs=(info["gmacs"], _baseline_gmacs(matrix_plans, setting)), **target, **info)
    _efficiency(benchmark, info["gmacs"], rate, passes=3, device=device)
    if name.startswith("t6-"):
        full = figures.rates.get(f"train/{device_kind}/{FULL_LOFR}")
        benchmark.extra_info["rate_to_e4d6"] = rate / full if rate and full else None
    if peak is not None:
        benchmark.extra_info["peak_mem_mb"] = peak


@pytest.mark.parametrize(("device_kind", "name", "want"), CASES, ids=IDS)
def test_forward(benchmark, figures, matrix_plans, one_core, device_kind, name, want):
    setting = SETTINGS[device_kind]
    device = _device(setting)
    cfg = _trial_config(matrix_plans, setting, name, want)
    batch = SMOKE_BATCH if benchmark.disabled else cfg.schedule.batch_size
    benchmark.group = f"forward-{device_kind}"
    net, forward = _inference(cfg, device, batch)
    base = None if benchmark.disabled else Timed(
        _inference(_trial_config(matrix_plans, setting, *TABLE5[0]), device, batch)[1])
    forward = Timed(forward)

    out = benchmark.pedantic(forward, setup=_alternating(device, base), rounds=setting.rounds_forward,
                             warmup_rounds=setting.warmup, iterations=1)

    k = cfg.model.num_keypoints
    h, w = cfg.model.input_size
    assert out["logits"]["decoder"].shape == (batch, k)
    assert out["responses"].shape == (batch, k, h // 4, w // 4)
    kp = decode_responses(out["responses"], (h, w)).float()  # the trial decodes when it evaluates
    assert kp.shape == (batch, k, 3) and torch.isfinite(kp).all()
    assert (kp[..., 0] >= 0).all() and (kp[..., 0] <= w).all() and (kp[..., 1] >= 0).all() and (kp[..., 1] <= h).all()
    info = _common_info(cfg, setting, device, batch, net)
    rate = _record(benchmark, figures, f"forward/{device_kind}/{name}", batch, setting.rounds_forward, device,
                   forward, base, macs=(info["gmacs"], _baseline_gmacs(matrix_plans, setting)), **info)
    _efficiency(benchmark, info["gmacs"], rate, passes=1, device=device)
