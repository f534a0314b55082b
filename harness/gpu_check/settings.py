"""What the GPU check runs and at which sizes: a GPU's settings and the CPU dry run's.

The networks are run_matrix.yaml's own Table 5 rows on COCO -- the baseline (spe, multi_scale,
reppg, pdc all off) and the full LOFR (all four on) -- at the matrix's `full` scale on a GPU
(ResNet-50 at 256x192, d_model 256, the paper's schedule: what the matrix trains there) and at
its `smoke` scale in the dry run (resnet18 at 64x48, d_model 32). Other backbones (HRNet-W32)
replace the backbone of those rows and run only if time allows.

`need_s`: the seconds each task is expected to take at most; a task starts only with that much
of the run's budget left (`harness.gpu_check.budget`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.config import TrialConfig
from harness.config.identity import flatten
from harness.matrix import expand
from harness.paper.modules import modules, switches_on

MATRIX = Path(__file__).resolve().parents[2] / "run_matrix.yaml"
# The check runs on COCO, the dataset the paper's Table 5 and the shipped sample images are of.
DATASET = "coco"
VARIANTS = {"baseline": False, "full_lofr": True}  # network name -> every declared module off / on


@dataclass(frozen=True)
class Settings:
    mode: str  # "cuda" or "cpu-dry"
    scale: str  # the matrix scale whose Table 5 rows run
    backbones: tuple[str, ...]  # the scale's own backbone first; the others if time allows
    batch_candidates: tuple[int, ...]  # tried in order, bounded by memory (`step.batch_search`)
    warmup_steps: int
    timed_steps: int
    compile_backend: str
    profile_top: int  # operators and kernels listed
    feed_workers: tuple[int, ...]
    feed_steps: int  # batches of one loader epoch (at the step's batch), per dataset and worker count
    twin_images: int  # the synthetic COCO twin made on the spot (train; about 1.75 people each)
    twin_val_images: int
    run_batch: int | None  # None: the matrix row's own batch size
    run_epochs: int
    run_steps_per_epoch: int
    run_val_instances: int
    run_workers: int
    torch_threads: int | None  # torch's CPU threads (None: torch's default, one per core)
    max_seconds: float  # the wall-clock ceiling of the whole check
    peak_tflops: float  # the device's bf16 dense peak, for the share of it reached
    need_s: dict[str, float] = field(default_factory=dict)


# The ceiling and the needs as measured on an H200 (2026-12-04, docs/gpu_check/): at the first
# ceiling, 270 s, the full LOFR's inductor compile (98 s, its task 108 s; its need was 75) was cut
# (one run); at 450 s every ResNet-50 task ran (318 s of tasks; feeding 32-45 s a dataset), then
# HRNet's eager rows (29 s), and HRNet's first compile started with at most 103 s left and was cut.
# So 450 s, with the compile's need at 120 s: HRNet's compiles are skipped there, not cut, while
# each ResNet-50 compile still starts with ~190 s or more left.
GPU = Settings(
    mode="cuda", scale="full", backbones=("resnet50", "hrnet_w32"), batch_candidates=(32, 64, 128, 256),
    warmup_steps=3, timed_steps=6, compile_backend="inductor", profile_top=15, feed_workers=(0, 3, 8),
    feed_steps=8, twin_images=1600, twin_val_images=64, run_batch=None, run_epochs=3, run_steps_per_epoch=48,
    run_val_instances=128, run_workers=8, torch_threads=None, max_seconds=450.0, peak_tflops=790.0,
    need_s={"step": 40.0, "profile": 15.0, "feeding": 50.0, "short_run": 45.0, "compile": 120.0})

# Why aot_eager: inductor on CPU takes ~110 s to compile the tiny full LOFR on 2 cores;
# aot_eager still traces forward and backward through dynamo and AOTAutograd (where a model
# breaks under compile), in ~9 s, and runs the traced graphs eagerly. Why one torch thread: as a
# smoke-scale trial runs (one CPU per trial); on a 2-core machine shared with other work, two
# threads spin waiting for each other whenever one loses its core.
CPU_DRY = Settings(
    mode="cpu-dry", scale="smoke", backbones=("resnet18",), batch_candidates=(2, 4), warmup_steps=1,
    timed_steps=2, compile_backend="aot_eager", profile_top=10, feed_workers=(0, 2), feed_steps=4,
    twin_images=24, twin_val_images=8, run_batch=4, run_epochs=2, run_steps_per_epoch=3, run_val_instances=8,
    run_workers=0, torch_threads=1, max_seconds=150.0, peak_tflops=790.0,
    need_s={"step": 5.0, "profile": 2.0, "feeding": 5.0, "short_run": 5.0, "compile": 10.0})


def settings_for(cpu_dry: bool, **overrides) -> Settings:
    """The GPU's settings or the dry run's, with the command line's overrides (None: keep)."""
    base = CPU_DRY if cpu_dry else GPU
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def module_switches(cfg: TrialConfig) -> dict[str, bool]:
    """{module name: on} of the declared modules (harness/paper/modules.py)."""
    return {m.name: on for m, on in zip(modules(), switches_on(flatten(cfg.to_dict())))}


def table5_rows(scale: str) -> dict[str, TrialConfig]:
    """{"baseline", "full_lofr"}: the matrix's Table 5 trials on COCO at `scale`."""
    rows = {}
    for trial in expand(MATRIX, scale).trials:
        cfg = trial.config
        if "table5" not in trial.studies or cfg.dataset.kind != DATASET:
            continue
        for name, on in VARIANTS.items():
            if all(v == on for v in switches_on(flatten(cfg.to_dict()))):
                rows[name] = cfg
    missing = set(VARIANTS) - set(rows)
    if missing:
        raise RuntimeError(f"{MATRIX}: no Table 5 COCO trial at scale {scale!r} for {sorted(missing)}")
    return rows


def with_backbone(cfg: TrialConfig, backbone: str) -> TrialConfig:
    return replace(cfg, model=replace(cfg.model, backbone=backbone))
