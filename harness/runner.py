"""`harness run`: the matrix's trials as Ray Tune trials, resumable from the results folder.

The results folder, not Ray's experiment state, is the source of truth: every run launches only
the trials whose metrics.json is not `completed`, and each of them resumes from its own
checkpoint. Ray Tune schedules them over the GPUs (fractions pack several trials on one GPU),
over an existing cluster (`--address`), or on CPU; `FailureConfig(max_failures)` retries a failing
trial, which is then recorded as failed while the rest of the matrix goes on. A trial that needs
more than one GPU trains data-parallel through Ray Train's TorchTrainer.

Ray Tune reuses a trial's worker process for the next trial with the same resources
(`reuse_actors`): no fresh process and imports per trial. Each trial starts from a clean process
state (`harness.trial.process`); a failed trial's worker is not reused (Tune stops it), so a retry
starts in a fresh one. Every payload carries the trial's loader workers resolved from its CPUs
(`harness.config.loader_workers`).
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.atomic import write_json
from harness.config import TrialConfig, loader_workers
from harness.errors import UserError
from harness.matrix import Plan, PlannedTrial, Resources, expand
from harness.record import MetricsRecord
from harness.progress import ProgressBoard


@dataclass
class RunOptions:
    scale: str = "full"
    results_root: Path = Path("results")
    address: str | None = None
    gpus_per_trial: float | None = None
    cpus_per_trial: float | None = None
    max_failures: int | None = None
    max_concurrent: int | None = None
    seeds: list[int] | None = None
    only: str | None = None
    num_gpus: float | None = None  # logical GPUs for a local Ray (scheduling tests without CUDA)
    num_cpus: float | None = None
    device: str | None = None  # "cpu" forces every trial onto the CPU
    ddp_workers: int | None = None  # data-parallel workers per trial (default: GPUs per trial when > 1)
    report: bool = False
    quiet: bool = False


@dataclass
class RunSummary:
    total: int
    already_done: int
    completed: int
    failed: int
    results_dir: Path
    wall_s: float
    peak_running: int = 0  # most trials running at once (Ray Tune's view)


def _resolve_resources(plan: Plan, opts: RunOptions) -> Resources:
    r = Resources(**vars(plan.resources))
    for key in ("gpus_per_trial", "cpus_per_trial", "max_failures", "max_concurrent"):
        value = getattr(opts, key)
        if value is not None:
            setattr(r, key, value)
    if r.gpus_per_trial < 0 or r.cpus_per_trial <= 0 or r.max_failures < 0:
        raise UserError(f"impossible resources: {r.gpus_per_trial} GPUs and {r.cpus_per_trial} CPUs per trial, "
                        f"{r.max_failures} retries")
    if r.gpus_per_trial > 1 and r.gpus_per_trial != int(r.gpus_per_trial):
        raise UserError(f"--gpus-per-trial {r.gpus_per_trial}: a trial takes a fraction of one GPU or whole GPUs")
    return r


def write_index(plan: Plan, results_dir: Path) -> None:
    """The matrix-level index: which trials belong to which study (read by the report)."""
    index = {
        "matrix": plan.name, "scale": plan.scale, "source": plan.source,
        "studies": {name: {"table": s.table, "title": s.title, "trials": []} for name, s in plan.studies.items()},
        "trials": {},
    }
    for t in plan.trials:
        index["trials"][t.id] = {"studies": t.studies, "config": t.config.to_dict()}
        for s in t.studies:
            index["studies"][s]["trials"].append(t.id)
    write_json(results_dir / "index.json", index)


def prepare_data(plan: Plan, results_dir: Path, twin_cache: Path, say) -> None:
    """Generate the synthetic twins and the mean-pose references before any trial starts."""
    from harness.reference import write_reference
    from harness.trial import resolve_dataset

    seen: set[str] = set()
    for t in plan.trials:
        ds = t.config.dataset
        if ds.name in seen:
            continue
        seen.add(ds.name)
        if ds.synthetic:
            say(f"synthetic twin of {ds.kind}: {ds.synth_images} train / {ds.synth_val_images} val images")
        resolved = resolve_dataset(ds, twin_cache)
        ref_path = results_dir / "references" / f"{ds.name}.json"
        if not ref_path.is_file():
            say(f"mean-pose reference for {ds.name}")
        write_reference(resolved, t.config.model.input_size, ref_path, t.config.schedule.max_val_instances)


def _trial_payload(t: PlannedTrial, results_dir: Path, twin_cache: Path, device: str | None,
                   cpus: float, gpus: float, ranks: int) -> dict[str, Any]:
    config = t.config.to_dict()
    if device:
        config["device"] = device
    config["schedule"]["num_workers"] = loader_workers(t.config.schedule.num_workers, cpus, ranks)
    return {"id": t.id, "config": config, "out": str(results_dir / t.id), "twin_cache": str(twin_cache),
            "threads": max(1, int(cpus)), "resources": {"cpus": cpus, "gpus": gpus, "ranks": ranks}}


def tune_trainable(config: dict[str, Any]) -> None:
    """Ray Tune function trainable: run one trial (single process) and report every epoch."""
    from ray import tune

    from harness.trial import run_trial
    from harness.trial.process import enter_worker

    p = config["trial"]
    enter_worker(p["resources"], p["threads"])
    cfg = TrialConfig.from_dict(p["config"])
    run_trial(cfg, Path(p["out"]), twin_cache=Path(p["twin_cache"]), report=tune.report)


def ddp_tune_driver(config: dict[str, Any]) -> None:
    """Ray Tune trial that trains one trial data-parallel through Ray Train's TorchTrainer."""
    from ray import train
    from ray.train.torch import TorchTrainer
    from ray.tune.integration.ray_train import TuneReportCallback

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
    from ray import train

    from harness.trial import run_trial
    from harness.trial.process import enter_worker

    p = config["trial"]
    enter_worker(p["resources"], p["threads"])
    ctx = train.get_context()
    cfg = TrialConfig.from_dict(p["config"])
    run_trial(cfg, Path(p["out"]), twin_cache=Path(p["twin_cache"]), report=train.report,
              world=(ctx.get_world_rank(), ctx.get_world_size()))


def _trial_name(trial) -> str:
    """Name Ray's own trial folders by the harness's trial id (not by the whole config)."""
    cfg = trial.config.get("trial") or trial.config.get("train_loop_config", {}).get("trial", {})
    return str(cfg.get("id", trial.trial_id))


def _init_ray(opts: RunOptions, results_dir: Path) -> None:
    import ray

    if ray.is_initialized():
        return
    # Keep Ray's own chatter (and its dashboard) out of the way: the harness prints progress.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    if opts.address:
        ray.init(address=opts.address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    else:
        ray.init(num_cpus=opts.num_cpus, num_gpus=opts.num_gpus, include_dashboard=False,
                 log_to_driver=False, configure_logging=False,
                 _temp_dir=None)


def run_matrix(matrix: Path, opts: RunOptions) -> RunSummary:
    t_start = time.perf_counter()
    plan = expand(matrix, opts.scale, opts.seeds)
    if opts.only:
        if opts.only not in plan.studies:
            raise UserError(f"{matrix}: --only {opts.only}: no such study at scale {opts.scale} "
                            f"(studies: {', '.join(plan.studies)})")
        plan.trials = [t for t in plan.trials if opts.only in t.studies]
        plan.studies = {opts.only: plan.studies[opts.only]}
    missing = sorted({p for t in plan.trials for p in t.missing_data})
    if missing:
        raise UserError(f"{matrix}: dataset path not found: {missing[0]}"
                        + (f" (and {len(missing) - 1} more; see 'harness plan')" if len(missing) > 1 else ""))
    resources = _resolve_resources(plan, opts)
    results_dir = opts.results_root / plan.name
    results_dir.mkdir(parents=True, exist_ok=True)
    twin_cache = (opts.results_root / ".twins").resolve()
    write_index(plan, results_dir)
    board = ProgressBoard(plan, results_dir, quiet=opts.quiet)
    from harness.trial import is_completed

    pending = [t for t in plan.trials if not is_completed(results_dir / t.id)]
    already = len(plan.trials) - len(pending)
    board.say(f"{plan.name} at scale {plan.scale}: {len(plan.trials)} trials, {already} already completed, "
              f"{len(pending)} to run -> {results_dir}")
    if pending:
        prepare_data(plan, results_dir, twin_cache, board.say)
        _init_ray(opts, results_dir)
        _run_tune(pending, resources, opts, results_dir.resolve(), twin_cache, board)
    completed = sum(is_completed(results_dir / t.id) for t in plan.trials)
    failed = len(plan.trials) - completed
    board.finish(completed, failed)
    if opts.report:
        from harness.report import build_report

        index = build_report(results_dir, Path("reports"))
        board.say(f"report: {index}")
    return RunSummary(len(plan.trials), already, completed - already, failed, results_dir,
                      time.perf_counter() - t_start, board.peak_running)


def _run_tune(pending: list[PlannedTrial], r: Resources, opts: RunOptions, results_dir: Path,
              twin_cache: Path, board: ProgressBoard) -> None:
    import ray
    from ray import tune

    cluster_gpus = ray.cluster_resources().get("GPU", 0)
    gpus = r.gpus_per_trial
    device = opts.device
    if gpus > 0 and cluster_gpus == 0:
        board.say(f"no GPU in the Ray cluster: running on CPU ({r.cpus_per_trial:g} CPUs per trial)")
        gpus = 0.0
    if gpus > cluster_gpus > 0:
        raise UserError(f"{gpus:g} GPUs per trial asked, the Ray cluster has {cluster_gpus:g}")
    workers = opts.ddp_workers or (int(gpus) if gpus > 1 else 1)
    payloads = [_trial_payload(t, results_dir, twin_cache, device, r.cpus_per_trial, gpus, workers)
                for t in pending]
    storage = results_dir / ".ray"
    run_config = tune.RunConfig(
        name="tune", storage_path=str(storage), verbose=0,
        failure_config=tune.FailureConfig(max_failures=r.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
        callbacks=[board.tune_callback()],
    )
    tune_config = tune.TuneConfig(max_concurrent_trials=r.max_concurrent or None, reuse_actors=True,
                                  trial_name_creator=_trial_name, trial_dirname_creator=_trial_name)
    if workers > 1:
        for p in payloads:
            p["workers"], p["gpus"], p["cpus"] = workers, gpus, r.cpus_per_trial
            p["threads"] = max(1, int(r.cpus_per_trial / workers))
            p["storage"] = str(storage)
        # The Tune trial is a light driver that launches the trial's Ray Train run (Train V2's
        # way of combining the two); the workers hold the CPUs and GPUs.
        trainable = tune.with_resources(ddp_tune_driver, {"cpu": 0.01})
    else:
        trainable = tune.with_resources(tune_trainable, {"cpu": r.cpus_per_trial, "gpu": gpus})
    tuner = tune.Tuner(trainable, param_space={"trial": tune.grid_search(payloads)},
                       tune_config=tune_config, run_config=run_config)
    # Ray Tune logs every failed attempt's traceback; the board prints the error's first line and
    # the traceback is kept in the trial's metrics.json.
    logging.getLogger("ray.tune").setLevel(logging.CRITICAL)
    grid = tuner.fit()
    # A trial whose process died without writing metrics.json (OOM kill, node loss) is recorded here.
    for result in grid:
        p = (result.config or {}).get("trial") or (result.config or {}).get("train_loop_config", {}).get("trial")
        if not p or result.error is None:
            continue
        mpath = Path(p["out"]) / "metrics.json"
        try:
            status = json.loads(mpath.read_text()).get("status")
        except (OSError, ValueError):
            status = None
        if status != "completed" and status != "failed":
            write_json(mpath, MetricsRecord.failed(p["config"], str(result.error).splitlines()[0]).to_json())

