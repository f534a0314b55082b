"""The Ray side of `harness run`: what one Ray Tune trial runs, single-process or data-parallel.

`tune_trainable` runs one trial in its Tune actor; a trial that trains on several workers runs
`ddp_tune_driver`, a light Tune trial that launches a Ray Train `TorchTrainer` whose workers run
`ddp_train_loop` (rank 0 writes the trial's files). `trial_payload` is what each of them receives;
`placement` tells the trial where Ray put it (the trial itself never imports Ray).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import ray
from ray import train, tune
from ray.train.torch import TorchTrainer
from ray.tune.integration.ray_train import TuneReportCallback

from harness.config import TrialConfig, loader_workers
from harness.matrix import PlannedTrial
from harness.trial.process import enter_worker
from harness.trial.run import run_trial


def trial_payload(t: PlannedTrial, results_dir: Path, twin_cache: Path, device: str | None,
                  cpus: float, gpus: float, ranks: int) -> dict[str, Any]:
    """The trial's config with its loader workers resolved from its CPUs, and its resources (a
    reused Ray worker refuses a trial whose resources differ: `harness.trial.process`)."""
    config = t.config.to_dict()
    if device:
        config["device"] = device
    config["schedule"]["num_workers"] = loader_workers(t.config.schedule.num_workers, cpus, ranks)
    return {"id": t.id, "config": config, "out": str(results_dir / t.id), "twin_cache": str(twin_cache),
            "threads": max(1, int(cpus)), "resources": {"cpus": cpus, "gpus": gpus, "ranks": ranks}}


def tune_trainable(config: dict[str, Any]) -> None:
    """Ray Tune function trainable: run one trial (single process) and report every epoch."""
    p = config["trial"]
    enter_worker(p["resources"], p["threads"])
    cfg = TrialConfig.from_dict(p["config"])
    run_trial(cfg, Path(p["out"]), twin_cache=Path(p["twin_cache"]), report=tune.report, **placement())


def ddp_tune_driver(config: dict[str, Any]) -> None:
    """Ray Tune trial that trains one trial data-parallel through Ray Train's TorchTrainer."""
    p = config["trial"]
    workers, gpus = p["workers"], p["gpus"]
    per_worker = {"CPU": max(0.01, p["cpus"] / workers)}
    if gpus > 0:
        per_worker["GPU"] = gpus / workers
    # CPU workers use gloo; fractional CPUs per worker so that 2 workers fit on a 2-core machine.
    trainer = TorchTrainer(
        ddp_train_loop, train_loop_config={"trial": p},
        scaling_config=train.ScalingConfig(num_workers=workers, use_gpu=gpus > 0, resources_per_worker=per_worker),
        run_config=train.RunConfig(name=f"train-{p['id']}", storage_path=p["storage"],
                                   callbacks=[TuneReportCallback()]),
    )
    trainer.fit()


def ddp_train_loop(config: dict[str, Any]) -> None:
    """Ray Train worker loop: one trial trained data-parallel (rank 0 writes the artifacts)."""
    p = config["trial"]
    enter_worker(p["resources"], p["threads"])
    ctx = train.get_context()
    cfg = TrialConfig.from_dict(p["config"])
    run_trial(cfg, Path(p["out"]), twin_cache=Path(p["twin_cache"]), report=train.report,
              world=(ctx.get_world_rank(), ctx.get_world_size()), **placement())


def placement() -> dict[str, Any]:
    """Where Ray placed this process: its node id (metrics.json's `node`: which machine of a cluster
    trained the trial) and the GPUs Ray gave it (an empty list: none, whatever the machine has)."""
    return {"node": ray.get_runtime_context().get_node_id(), "assigned_gpus": ray.get_gpu_ids()}


def trial_name(trial) -> str:
    """Name Ray's own trial folders by the harness's trial id (not by the whole config)."""
    cfg = trial.config.get("trial") or trial.config.get("train_loop_config", {}).get("trial", {})
    return str(cfg.get("id", trial.trial_id))
