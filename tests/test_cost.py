"""harness/cost.py: GMACs against hand counts, meta-device counts against real ones, the img/s
definition, and the peak-memory unit. Nothing here is timed."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness import cost
from harness.cost import count_gmacs, count_params, images_per_second, measure_throughput, peak_memory_mb
from models.build import build_model
from models.config import LOFRConfig


# the smoke scale's network (tests/conftest.py's tiny trials): resnet18 at 64x48, 32-wide transformer
TINY_MODEL = dict(backbone="resnet18", input_size=(64, 48), d_model=32, nhead=4, dim_feedforward=64,
                  enc_layers=1, dec_layers=1)


class SmallConvNet(nn.Module):
    """conv 3->8 (3x3, pad 1), BN, ReLU, conv 8->16 (3x3, stride 2, pad 1), GAP, linear 16->10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.conv2(F.relu(self.bn(self.conv1(x))))
        return self.fc(x.mean(dim=(2, 3)))


class SelfAttentionOnPixels(nn.Module):
    """Single-head self-attention over the H*W pixels, 3 channels each (fused SDPA kernel)."""

    def forward(self, x):
        tokens = x.flatten(2).transpose(1, 2).unsqueeze(1).contiguous()  # 1 x 1 x HW x 3
        # (contiguous: a strided input makes SDPA take its math path, which is counted anyway)
        return F.scaled_dot_product_attention(tokens, tokens, tokens)


def test_gmacs_of_a_small_conv_net_equal_the_hand_count():
    h, w = 32, 24
    macs = (
        (3 * 3 * 3) * 8 * (h * w)  # conv1: k*k*c_in per output value, 8 maps at full resolution
        + (3 * 3 * 8) * 16 * (h // 2) * (w // 2)  # conv2: stride 2
        + 16 * 10  # linear
    )  # BN, ReLU, the mean and the biases are not multiply-accumulates of a matmul / conv
    assert macs == 387_232
    got = count_gmacs(SimpleNamespace(input_size=(h, w)), model=SmallConvNet())
    assert got == pytest.approx(macs / 1e9, rel=1e-12)


def test_attention_is_counted_on_cpu():
    # The fused CPU kernel has no formula in FlopCounterMode itself; cost.py adds it.
    h, w = 16, 12
    n, d = h * w, 3
    macs = 2 * n * n * d  # Q K^T and A V
    got = count_gmacs(SimpleNamespace(input_size=(h, w)), model=SelfAttentionOnPixels())
    assert got == pytest.approx(macs / 1e9, rel=1e-12)


def test_count_params_by_hand():
    expected = (3 * 8 * 9 + 8) + (8 + 8) + (8 * 16 * 9 + 16) + (16 * 10 + 10)  # conv1, BN, conv2, fc
    assert count_params(SmallConvNet()) == expected


@pytest.mark.parametrize("switches", [
    dict(spe=False, multi_scale=False, reppg=False, pdc=False),  # the Table 5 baseline
    dict(),  # all of LOFR's modules, multi-scale included
    dict(spe=False, cam_stride=8, enc_layers=0),  # learned positions, stride-8 CAM, no encoder
])
def test_meta_device_count_equals_the_real_count(switches):
    cfg = LOFRConfig(**{**TINY_MODEL, **switches})
    real = count_gmacs(cfg, model=build_model(cfg))
    meta = count_gmacs(cfg, meta=True)
    assert real > 0
    assert meta == pytest.approx(real, rel=1e-9)


def test_meta_and_real_counts_agree_at_the_synthetic_scale_with_attention_dominant():
    # resnet18 at 128x96 with a 128-wide transformer (the synthetic scale): the multi-scale
    # encoder's stride-4 tokens make attention a large part of the total, so a count that
    # skipped the fused attention kernel would be far off.
    cfg = LOFRConfig(backbone="resnet18", input_size=(128, 96), d_model=128, nhead=4, dim_feedforward=256,
                     enc_layers=1, dec_layers=1)
    real = count_gmacs(cfg, model=build_model(cfg))
    meta = count_gmacs(cfg, meta=True)
    tokens = (128 // 4) * (96 // 4)  # the stride-4 level alone
    attention_s4 = 2 * tokens * tokens * 128  # Q K^T and A V over every head (h * d_k = d)
    assert meta == pytest.approx(real, rel=1e-9)
    assert real * 1e9 > attention_s4


def test_images_per_second_definition():
    assert images_per_second(64, 2.0) == 32.0
    assert images_per_second(64, 0.0) is None


def test_measure_throughput_counts_only_the_timed_calls(monkeypatch):
    clock = iter([10.0, 12.5])  # t0 after the warmup, then the end
    monkeypatch.setattr(cost.time, "perf_counter", lambda: next(clock))
    calls = []
    rate = measure_throughput(lambda: calls.append(1), batch_size=8, device=torch.device("cpu"),
                              warmup=2, iters=5)
    assert len(calls) == 7
    assert rate == pytest.approx(8 * 5 / 2.5)


def test_peak_memory_on_cpu_is_in_mib():
    block = bytearray(64 * 2**20)  # 64 MiB, touched (bytearray zero-fills)
    with open("/proc/self/status") as fh:
        rss_kib = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    peak = peak_memory_mb(torch.device("cpu"))
    # the peak is at least what is resident now, in MiB (the kernel's per-thread RSS counters
    # that getrusage reads may lag /proc by a few pages)
    assert rss_kib / 1024 >= 64
    assert peak >= rss_kib / 1024 - 4
    assert peak < 1024 * 1024  # and not in KiB or bytes
    del block


def test_plan_estimates_from_measured_gpu_rates_of_the_same_model_config(tmp_path):
    """A rate measured on "NVIDIA H100 ..." is used for a GPU plan, and only for the same model
    config: the MS row is not estimated at the baseline's rate."""
    import json
    from pathlib import Path

    from harness.matrix import expand
    from harness.matrix.plan_view import plan_table

    matrix = {
        "name": "m", "datasets": {"coco": {"kind": "coco", "root": str(tmp_path / "nowhere")}},
        "defaults": {"dataset": "coco", "model": {**TINY_MODEL, "input_size": [64, 48]},
                     "schedule": {"epochs": 36, "lr_steps": [], "max_train_instances": 100_000}},
        "resources": {"gpus_per_trial": 1},
        "studies": {"table5": {"table": "table5", "rows": [{"model": {"multi_scale": False}},
                                                            {"model": {"multi_scale": True}}]}},
    }
    plan = expand(Path("m.yaml"), "full", data=matrix)
    base, ms = plan.trials
    root = tmp_path / "results"

    def measured(trial, rate):
        folder = root / "m" / "full" / trial.id
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps({
            "status": "completed", "config": trial.config.to_dict(),
            "cost": {"train_img_per_s": rate, "device": "NVIDIA H100 80GB HBM3"}}))

    def estimate() -> str:
        return plan_table(plan, root).splitlines()[-2]

    assert "assumed 25 TFLOP/s per GPU" in estimate() and "measured" not in estimate()
    measured(base, 1000.0)
    assert "assumed" in estimate() and "and measured img/s" in estimate()  # the MS row is still assumed
    measured(ms, 500.0)
    # 100,000 instances x 36 epochs: 1 h at 1,000 img/s + 2 h at 500 img/s
    assert "~ 3.0 GPU-hours (measured img/s of finished trials)" in estimate()
