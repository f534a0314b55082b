"""`run_trial`: a trial's lifecycle (skip if completed, clean process state, resume, train,
evaluate, record, stop the loader's workers), and `is_completed`. What it writes is a
`harness.record.MetricsRecord`."""
from __future__ import annotations

import json
import socket
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import torch

from harness.atomic import write_json
from harness.config import TrialConfig
from harness.cost import count_gmacs, count_params, peak_memory_mb
from harness.evaluation.evaluator import LOCATION_ONLY
from harness.config.identity import flatten
from harness.paper import readings
from harness.record import COMPLETED, FAILED, MetricsRecord
from harness.trial.checkpoint import load_checkpoint, save_checkpoint
from harness.trial.evaluation import Evaluation, curve_point, evaluate
from harness.trial.machine import machine_facts
from harness.trial.process import begin_trial, worker_facts
from harness.trial.setup import Trial, pick_device
from harness.trial.training import train_epoch

METRICS = "metrics.json"


def run_trial(cfg: TrialConfig, out_dir: Path, *, twin_cache: Path,
              progress: Callable[[str], None] | None = None,
              report: Callable[[dict[str, Any]], None] | None = None,
              stop_after_epoch: int | None = None, world: tuple[int, int] = (0, 1),
              node: str | None = None, assigned_gpus: list | None = None,
              location_only: bool = False) -> dict[str, Any]:
    """Train and evaluate `cfg` into `out_dir`; return the metrics.json content.

    `report(row)` is called after every epoch (the runner passes Ray Tune's `tune.report`).
    `node` and `assigned_gpus`: where the scheduler placed the trial (its Ray node id, the GPUs Ray
    gave it), recorded and used as they are; None outside Ray (`harness trial`).
    `location_only`: every evaluation scores the location metric alone, without the OKS AP
    (`harness.trial.evaluation.evaluate`; a bare machine without pycocotools: scripts/gpu_seeds.py).
    `stop_after_epoch` ends the process-equivalent of a kill after that epoch's checkpoint
    (used by tests of resume); the trial is then left `running`. `world` = (rank, size) of a
    data-parallel trial: every rank trains, rank 0 alone checkpoints, evaluates and writes.
    """
    rank, world_size = world
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mpath = out_dir / METRICS
    done = _read(mpath)
    if done is not None and done.get("status") == COMPLETED:
        return done
    wall0, started_at = time.perf_counter(), time.time()
    attempts = _previous_attempts(done) + 1
    say = progress or (lambda msg: None)
    trial = None
    try:
        device = pick_device(cfg.device, assigned_gpus)
        begin_trial(device, cfg.seed)
        trial = Trial(cfg, out_dir, twin_cache, device, say, world)
        if load_checkpoint(trial):
            say(f"resuming at epoch {trial.epoch + 1}")
        metrics = (trial.spec.primary_metric, trial.spec.location_metric)
        while trial.epoch < cfg.schedule.epochs:
            row = train_epoch(trial)
            k = cfg.schedule.eval_every
            if k and rank == 0 and trial.epoch % k == 0 and trial.epoch < cfg.schedule.epochs:
                row.update(curve_point(evaluate(trial, keep_artifacts=False, location_only=location_only), *metrics))
            trial.curve.append(row)
            if rank == 0:
                save_checkpoint(trial)
            if world_size > 1:
                torch.distributed.barrier()
            say(f"epoch {trial.epoch}/{cfg.schedule.epochs} loss {row['total']:.4f}" + _ladder_line(row))
            if report is not None:
                report({"epoch": trial.epoch, "loss": row["total"], **row.get("val", {})})
            if stop_after_epoch is not None and trial.epoch >= stop_after_epoch:
                return {"status": "running", "epoch": trial.epoch}
        if rank != 0:
            return {"status": "worker", "rank": rank}
        final = evaluate(trial, keep_artifacts=True, location_only=location_only)
        if trial.curve:
            trial.curve[-1].update(curve_point(final, *metrics))
        record = MetricsRecord(
            status=COMPLETED, config=cfg.to_dict(), metrics=final.metrics, curve=trial.curve,
            timings={"train_s": trial.train_s, "data_wait_s": trial.data_wait_s, "eval_s": final.eval_s,
                     "wall_s": time.perf_counter() - wall0, "started_at": started_at, "finished_at": time.time()},
            attempts=attempts, world_size=world_size, cost=_cost(trial, final, device), worker=worker_facts(),
            response_stats=final.response_stats, classification=final.classification,
            readouts=final.readouts, errors=final.errors, evaluation=final.details, node=node,
            host=socket.gethostname(), machine=machine_facts(device),
            diagnostics=final.diagnostics, readings=readings.resolved(flatten(cfg.to_dict())),
            data={"train_instances": len(trial.train_set), "val_instances": len(trial.val_set),
                  "skipped": {"train": int(getattr(trial.train_set, "skipped", 0)),
                              "val": int(getattr(trial.val_set, "skipped", 0))}},
        )
        result = record.to_json()
        write_json(mpath, result)
        return result
    except BaseException as exc:  # noqa: BLE001 -- recorded, then re-raised for the runner to retry
        if not isinstance(exc, KeyboardInterrupt) and rank == 0:
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            write_json(mpath, MetricsRecord.failed(cfg.to_dict(), error, traceback.format_exc(limit=8),
                                                   attempts).to_json())
        raise
    finally:
        if trial is not None:
            trial.close()


def _ladder_line(row: dict[str, Any]) -> str:
    """An evaluated epoch's figures for the progress line: val metrics, read-outs, head mAPs."""
    if "val" not in row:
        return ""
    parts = [f"{k} {v:.3f}" for k, v in row["val"].items() if isinstance(v, float)]
    ladder = row.get("ladder", {})
    parts += [f"{k} {v:.3f}" for k, v in ladder.get("readouts", {}).items() if isinstance(v, float) and k != "responses"]
    parts += [f"mAP {k} {v:.3f}" for k, v in ladder.get("mAP", {}).items() if isinstance(v, float)]
    return " | " + ", ".join(parts)


def _cost(trial: Trial, final: Evaluation, device: torch.device) -> dict[str, Any]:
    return {
        "params": count_params(trial.net),
        "gmacs": count_gmacs(trial.cfg.model, model=trial.net),
        "train_img_per_s": trial.train_images / trial.train_s if trial.train_s > 0 else None,
        "data_wait_fraction": trial.data_wait_s / trial.train_s if trial.train_s > 0 else None,
        "loader_workers": trial.num_workers,
        "infer_img_per_s": final.infer_img_per_s,
        "peak_mem_mb": peak_memory_mb(device),
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
    }


def _read(mpath: Path) -> dict[str, Any] | None:
    """The metrics.json already there, or None (absent or broken: this run rewrites it)."""
    try:
        data = json.loads(mpath.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _previous_attempts(previous: dict[str, Any] | None) -> int:
    """How many earlier attempts of this trial failed (kept in its failed metrics.json)."""
    if previous is None or previous.get("status") != FAILED:
        return 0
    try:
        return int(previous.get("attempts", 0))
    except (TypeError, ValueError):
        return 0


def is_completed(out_dir: Path) -> bool:
    data = _read(Path(out_dir) / METRICS)
    return data is not None and data.get("status") == COMPLETED


def is_location_only(out_dir: Path) -> bool:
    """A completed trial scored by the location metric alone (scripts/gpu_seeds.py: no AP)."""
    data = _read(Path(out_dir) / METRICS)
    evaluation = data.get("evaluation") if data is not None and data.get("status") == COMPLETED else None
    return isinstance(evaluation, dict) and evaluation.get("metrics") == LOCATION_ONLY
