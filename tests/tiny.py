"""Tiny trial configs: resnet18 at 64x48 on 16-image synthetic twins, seconds on CPU."""
from __future__ import annotations

from harness.config import DatasetConfig, ScheduleConfig, SupervisionConfig, TrialConfig
from harness.data.specs import SPECS
from models.config import LOFRConfig


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
