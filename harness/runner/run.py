"""`harness run`: the matrix's trials as Ray Tune trials, resumable from the results folder.

The results folder, not Ray's experiment state, is the source of truth: every run launches only
the trials whose metrics.json is not `completed`, and each of them resumes from its own
checkpoint. A run's folder is `<results>/<matrix>/<scale>/` and its index.json is merged over
partial runs (`harness/layout.py`). Ray Tune schedules them over the GPUs (fractions pack several trials on one GPU),
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
from dataclasses import dataclass, field
from pathlib import Path

import ray
from ray import tune
from ray.exceptions import AuthenticationError

from harness.atomic import write_json
from harness.errors import UserError
from harness.layout import merge_index, run_dir, twin_cache_dir
from harness.matrix import Plan, PlannedTrial, Resources, expand
from harness.matrix.rates import GmacsCache, training_work
from harness.record import MetricsRecord
from harness.reference import reference_name, write_reference
from harness.report import build_report
from harness.runner.local_ray import LocalRayClaim, claim_local_ray, sharing_warning
from harness.runner.ordering import longest_first
from harness.runner.progress import ProgressBoard
from harness.runner.trainables import ddp_tune_driver, trial_name, trial_payload, tune_trainable
from harness.trial.run import is_completed, is_location_only
from harness.trial.setup import resolve_dataset, twin_is_cached


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
    # Ray's placement: the resources Tune reserved for each trial it started, and the cluster's
    # totals (so many of those reservations fit at once, however the machine's load times them).
    reserved: dict[str, dict[str, float]] = field(default_factory=dict)
    cluster: dict[str, float] = field(default_factory=dict)


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


def prepare_data(plan: Plan, results_dir: Path, twin_cache: Path, say) -> None:
    """Generate the synthetic twins and the mean-pose references before any trial starts."""

    names = {t.id: reference_name(t.config) for t in plan.trials}
    done: set[str] = set()
    for t in plan.trials:
        name = names[t.id]
        if name in done:
            continue
        done.add(name)
        ds = t.config.dataset
        if ds.synthetic:
            made = "cached twin" if twin_is_cached(ds, twin_cache) else "synthetic twin"
            say(f"{made} of {ds.kind}: {ds.synth_images} train / {ds.synth_val_images} val images")
        resolved = resolve_dataset(ds, twin_cache)
        ref_path = results_dir / "references" / f"{name}.json"
        if not ref_path.is_file():
            say(f"mean-pose reference for {ds.name} at {t.config.model.input_size[0]}x{t.config.model.input_size[1]}")
        write_reference(resolved, t.config.model.input_size, ref_path, t.config.schedule.max_val_instances)


# The claim on the machine's local-Ray lock, held as long as this process's local Ray lives (the
# process's life: Ray shuts down at exit), hence kept here rather than released with the run.
_local_ray_claim: LocalRayClaim | None = None


def _cluster_totals() -> dict[str, float]:
    """The Ray cluster's CPUs and GPUs (logical), as Ray counts them."""
    totals = ray.cluster_resources()
    return {k: float(totals.get(k, 0.0)) for k in ("CPU", "GPU")}


def _init_ray(opts: RunOptions, say) -> None:
    global _local_ray_claim
    if ray.is_initialized():
        return
    # Keep Ray's own chatter (and its dashboard) out of the way: the harness prints progress.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    if opts.address:
        try:
            ray.init(address=opts.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        except (ConnectionError, AuthenticationError) as exc:
            # A cluster started with token authentication (Ray >= 2.52; the default for new
            # clusters from 2.59/2.61) refuses a driver without its token, as a ConnectionError.
            raise UserError(
                f"--address {opts.address}: cannot join the Ray cluster ({str(exc).splitlines()[0]}); if it "
                "uses token authentication, set RAY_AUTH_MODE=token and give this machine the cluster's token "
                "(~/.ray/auth_token, or RAY_AUTH_TOKEN_PATH); see README 'GPUs and clusters'") from None
    else:
        _local_ray_claim = claim_local_ray()
        warning = sharing_warning(_local_ray_claim)
        if warning:
            say(f"warning: {warning}")
        ray.init(num_cpus=opts.num_cpus, num_gpus=opts.num_gpus, include_dashboard=False,
                 log_to_driver=False, configure_logging=False,
                 _temp_dir=None)


def run_matrix(matrix: Path, opts: RunOptions) -> RunSummary:
    """Run every trial of `matrix` at `opts.scale` that is not completed in its run folder
    (`<results>/<matrix>/<scale>/`, harness/layout.py), and merge the run into its index.json."""
    t_start = time.perf_counter()
    plan = expand(matrix, opts.scale, opts.seeds)
    study_order = list(plan.studies)
    if opts.only:
        plan = plan.only(opts.only)
    missing = sorted({p for t in plan.trials for p in t.missing_data})
    if missing:
        raise UserError(f"{matrix}: dataset path not found: {missing[0]}"
                        + (f" (and {len(missing) - 1} more; see 'harness plan')" if len(missing) > 1 else ""))
    resources = _resolve_resources(plan, opts)
    results_dir = run_dir(opts.results_root, plan.name, plan.scale)
    results_dir.mkdir(parents=True, exist_ok=True)
    twin_cache = twin_cache_dir(opts.results_root)
    pending = [t for t in plan.trials if not is_completed(results_dir / t.id)]
    gmacs = GmacsCache()
    work = {t.id: training_work(t.config, gmacs) for t in pending}
    gmacs.save()
    board = ProgressBoard(plan, results_dir, quiet=opts.quiet, work=work)
    board.skip({t.id for t in plan.trials} - set(work))
    already = len(plan.trials) - len(pending)
    board.say(f"{plan.name} at scale {plan.scale}: {len(plan.trials)} trials, {already} already completed, "
              f"{len(pending)} to run -> {results_dir}")
    located = [t.id for t in plan.trials if is_location_only(results_dir / t.id)]
    if located:
        # why not run them again: they trained in full (scripts/gpu_seeds.py on a GPU); only their
        # scoring is partial, and the report reads them (AP cells empty, with a note)
        board.say(f"{len(located)} of the completed trials were scored by the location metric alone "
                  f"(scripts/gpu_seeds.py; no AP), e.g. {located[0]}: kept as completed; move their folders "
                  "aside to train and score them in full")
    merge_index(plan, results_dir, {t.id: reference_name(t.config) for t in plan.trials}, study_order)
    if pending:
        prepare_data(plan, results_dir, twin_cache, board.say)
        _init_ray(opts, board.say)
        _run_tune(longest_first(pending, gmacs), resources, opts, results_dir.resolve(), twin_cache, board)
    completed = sum(is_completed(results_dir / t.id) for t in plan.trials)
    failed = len(plan.trials) - completed
    board.finish(completed, failed)
    if opts.report:
        index = build_report(results_dir, Path("reports"))
        board.say(f"report: {index}")
    return RunSummary(len(plan.trials), already, completed - already, failed, results_dir,
                      time.perf_counter() - t_start, board.peak_running, board.reserved,
                      _cluster_totals() if pending else {})


def _run_tune(pending: list[PlannedTrial], r: Resources, opts: RunOptions, results_dir: Path,
              twin_cache: Path, board: ProgressBoard) -> None:
    cluster_gpus = ray.cluster_resources().get("GPU", 0)
    gpus = r.gpus_per_trial
    device = opts.device
    if gpus > 0 and cluster_gpus == 0:
        board.say(f"no GPU in the Ray cluster: running on CPU ({r.cpus_per_trial:g} CPUs per trial)")
        gpus = 0.0
    if gpus > cluster_gpus > 0:
        raise UserError(f"{gpus:g} GPUs per trial asked, the Ray cluster has {cluster_gpus:g}")
    workers = opts.ddp_workers or (int(gpus) if gpus > 1 else 1)
    payloads = [trial_payload(t, results_dir, twin_cache, device, r.cpus_per_trial, gpus, workers)
                for t in pending]
    storage = results_dir / ".ray"
    run_config = tune.RunConfig(
        name="tune", storage_path=str(storage), verbose=0,
        failure_config=tune.FailureConfig(max_failures=r.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
        callbacks=[board.tune_callback()],
    )
    tune_config = tune.TuneConfig(max_concurrent_trials=r.max_concurrent or None, reuse_actors=True,
                                  trial_name_creator=trial_name, trial_dirname_creator=trial_name)
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

