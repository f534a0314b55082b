"""Shared fixtures: tiny trial configs on tiny synthetic twins, the sample-data folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.config import DatasetConfig, ScheduleConfig, SupervisionConfig, TrialConfig
from harness.data.specs import SPECS
from models.config import LOFRConfig

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"real sample data not found at {SAMPLES} (it lives beside the project in ../shared)")
    return SAMPLES


@pytest.fixture(scope="session")
def twin_cache(tmp_path_factory) -> Path:
    """One cache of synthetic twins for the whole test session."""
    return tmp_path_factory.mktemp("twins")


def tiny_config(kind: str = "coco", regime: str = "location_free", fraction: float | None = None,
                epochs: int = 2, seed: int = 0, **model) -> TrialConfig:
    """A trial that trains in seconds on CPU: resnet18 at 64x48, a 32-wide transformer."""
    spec = SPECS[kind]
    m = dict(backbone="resnet18", input_size=(64, 48), d_model=32, nhead=4, dim_feedforward=64,
             enc_layers=1, dec_layers=1, num_keypoints=spec.num_joints, skeleton=spec.skeleton)
    m.update(model)
    return TrialConfig(
        dataset=DatasetConfig(name=f"{kind}_synth", kind=kind, synthetic=True, synth_images=16,
                              synth_val_images=8, synth_seed=0),
        model=LOFRConfig(**m),
        supervision=SupervisionConfig(regime=regime, fraction=fraction),
        schedule=ScheduleConfig(epochs=epochs, batch_size=8, lr=1e-3, lr_steps=(), max_train_instances=24,
                                max_val_instances=8, num_workers=0),
        seed=seed, scale="smoke", device="cpu",
    )


@pytest.fixture
def browser_required() -> bool:
    return os.environ.get("HARNESS_REQUIRE_BROWSER") == "1"
