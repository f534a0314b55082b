"""`MetricsRecord`: one trial's `metrics.json`, typed; the trial writes it and the report reads it.

This dataclass is the contract between the two (docs/architecture.md points here). Fields:

- `status`: "completed" or "failed" (a trial in progress has no metrics.json);
- `config`: the resolved `TrialConfig.to_dict()`;
- `metrics`: every metric of the dataset's evaluator, fractions in [0, 1], None where undefined;
- `curve`: one entry per epoch, `{"epoch", "losses": {term: unweighted}, "weighted": {term:
  weighted}, "total", "lr"}`, and on the epochs that were evaluated `"val": {primary metric,
  location metric}` and `"ladder": {"mAP": {head: mAP}, "readouts": {read-out: location metric}}`;
- `timings`: `train_s`, `data_wait_s` (of `train_s`: the training loop waiting for its next
  batch), `eval_s`, `wall_s`, `started_at`, `finished_at`;
- `cost`: `params`, `gmacs`, `train_img_per_s`, `data_wait_fraction` (`data_wait_s / train_s`),
  `loader_workers` (DataLoader worker processes per rank), `infer_img_per_s`, `peak_mem_mb`
  (this trial's own, even in a reused process), `device`;
- `response_stats`: Table 7 group -> mean response at the ground-truth joints;
- `data`: `train_instances`, `val_instances`, `skipped` {train, val};
- the localisation ladder (`harness.trial.evaluation`), on the same instances as `metrics`:
  `classification`: {cnn, encoder, decoder: {mAP, accuracy, chance_mAP, chance_accuracy, gain,
  joints_scored}}; `readouts`: {responses, cams, product, token_scores: {location metric: value}}
  (token_scores absent where the decoder head has no w_k: the "score_map" reading);
  `errors`: {"overall": {good, jitter, inversion, swap, miss: fraction}, "joints": {name: {...}}};
- `diagnostics`: why link 3 fails (`harness.evaluation.diagnostics`): attention_entropy,
  uniform_fraction, prototype_cos, part_feature_cos, response_cam_agreement(_shuffled),
  decoder_weight_norm; the curve's evaluated epochs carry them too;
- `readings`: the paper's ambiguous passages as this trial read them (`harness.paper.readings`):
  {passage: {key, value, tag}};
- `evaluation`: how the metrics were computed where a dataset allows several ways: MPII's
  `head_size_source`, "mat" (standard PCKh with mpii_gt_val.mat) or "joints" (head sizes
  estimated from the joints); empty for COCO and CrowdPose;
- `node` (the Ray node id that ran the trial, None outside Ray: `harness.runner.trainables.placement`) and `host`;
- `machine`: whose arithmetic trained it (`harness.trial.machine`): cpu, cpu_flags, threads, torch,
  device, numerics (a digest of a fixed computation's bits); `other_machine` compares two; empty in
  records from before it;
- `attempts` (1 + earlier failed attempts), `world_size` (data-parallel ranks);
- `worker`: `pid` and `trial_in_process` (1 for a fresh process; more where the runner's Ray
  worker was reused between trials, `harness.trial.process`);
- failed records only: `error` (the exception's first line) and `traceback`.

`from_json` checks the shape and raises `UserError` naming the file (bad input for the report);
keys it does not know are ignored, so that an older report reads a newer record.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError

COMPLETED, FAILED = "completed", "failed"
# The ladder's logit heads and read-outs (keys of `classification` and `readouts`), shared by the
# trial that measures them and the report that reads them.
HEADS = ("cnn", "encoder", "decoder")
READOUTS = ("responses", "cams", "product", "token_scores")


@dataclass
class MetricsRecord:
    status: str
    config: dict[str, Any]
    metrics: dict[str, float | None] = field(default_factory=dict)
    curve: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    response_stats: dict[str, float | None] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    classification: dict[str, dict[str, Any]] = field(default_factory=dict)
    readouts: dict[str, dict[str, float | None]] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, float | None] = field(default_factory=dict)
    readings: dict[str, dict[str, Any]] = field(default_factory=dict)
    node: str | None = None
    host: str | None = None
    machine: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1
    world_size: int = 1
    worker: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == COMPLETED

    @classmethod
    def failed(cls, config: dict[str, Any], error: str, traceback: str | None = None,
               attempts: int = 1) -> "MetricsRecord":
        return cls(status=FAILED, config=config, error=error, traceback=traceback, attempts=attempts)

    def to_json(self) -> dict[str, Any]:
        """The metrics.json object: a failed record holds only what says why it failed."""
        if self.status != COMPLETED:
            out = {"status": self.status, "error": self.error, "config": self.config, "attempts": self.attempts}
            if self.traceback is not None:
                out["traceback"] = self.traceback
            return out
        return {
            "status": self.status, "config": self.config, "metrics": self.metrics, "curve": self.curve,
            "timings": self.timings, "attempts": self.attempts, "world_size": self.world_size,
            "cost": self.cost, "response_stats": self.response_stats, "data": self.data,
            "classification": self.classification, "readouts": self.readouts, "errors": self.errors,
            "evaluation": self.evaluation, "diagnostics": self.diagnostics, "readings": self.readings,
            "node": self.node, "host": self.host, "machine": self.machine, "worker": self.worker,
        }

    @classmethod
    def from_json(cls, data: Any, path: Path | str = "metrics.json") -> "MetricsRecord":
        """A checked record; `UserError` naming `path` when the object does not have the shape above."""
        _need(isinstance(data, dict), path, "must be a JSON object")
        status = data.get("status")
        _need(isinstance(status, str) and status != "", path, "has no 'status'")
        config = data.get("config") if isinstance(data.get("config"), dict) else {}
        attempts = data.get("attempts", 1)
        attempts = attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 1
        if status != COMPLETED:
            error = first_line(data.get("error") or "")
            return cls(status=status, config=config, error=error or None, traceback=data.get("traceback"),
                       attempts=attempts)
        _need("metrics" in data, path, "status is completed but it has no 'metrics'")
        curve = data.get("curve", [])
        _need(isinstance(curve, list) and all(isinstance(c, dict) for c in curve), path,
              "'curve' must be a list of per-epoch objects")
        maps = {}
        for key in ("timings", "cost", "data", "classification", "errors", "evaluation", "worker", "readings",
                    "machine"):
            value = data.get(key, {})
            _need(isinstance(value, dict), path, f"'{key}' must be a mapping")
            maps[key] = value
        world = data.get("world_size", 1)
        readouts = data.get("readouts", {})
        _need(isinstance(readouts, dict) and all(isinstance(v, dict) for v in readouts.values()), path,
              "'readouts' must map each read-out to its metrics")
        readouts = {name: number_map(v, path, f"readouts.{name}") for name, v in readouts.items()}
        node, host = data.get("node"), data.get("host")
        return cls(status=status, config=config, metrics=number_map(data["metrics"], path, "metrics"),
                   readouts=readouts, node=node if isinstance(node, str) else None,
                   host=host if isinstance(host, str) else None,
                   curve=curve, response_stats=number_map(data.get("response_stats") or {}, path, "response_stats"),
                   diagnostics=number_map(data.get("diagnostics") or {}, path, "diagnostics"),
                   attempts=attempts, world_size=world if isinstance(world, int) else 1, **maps)


def other_machine(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two records' `machine` say they were trained with different arithmetic: both carry a
    `numerics` digest and the digests differ. False where either is unknown (a record from before
    `machine`): nothing can be said of it, and the caller says so where it matters."""
    x, y = a.get("numerics"), b.get("numerics")
    return isinstance(x, str) and isinstance(y, str) and x != y


def number_map(obj: Any, path: Path | str, key: str) -> dict[str, float | None]:
    """A {name: number or null} mapping; NaN is kept as None (undefined)."""
    _need(isinstance(obj, dict), path, f"'{key}' must be a mapping of name -> number")
    out: dict[str, float | None] = {}
    for name, value in obj.items():
        if value is None:
            out[str(name)] = None
            continue
        _need(isinstance(value, (int, float)) and not isinstance(value, bool), path,
              f"'{key}.{name}' must be a number or null, got {value!r}")
        out[str(name)] = None if math.isnan(value) else float(value)
    return out


def first_line(text: Any) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


def _need(cond: bool, path: Path | str, problem: str) -> None:
    if not cond:
        raise UserError(f"{path}: {problem}")
