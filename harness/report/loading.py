"""Reading a results folder (index.json, references and their per-image arrays, each trial's
metrics.json and arrays).

The folder layout is the contract of docs/architecture.md ("Contract: results folder"). A
trial listed in index.json without a metrics.json is *missing*; a metrics.json with status
`failed` is a *failed* trial: both are results, shown as such. A file that cannot be read or does
not have the contract's shape is bad input: `UserError`, one line naming the file.
"""
from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import UserError
from harness.record import FAILED, MetricsRecord, number_map

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class StudyIndex:
    """One study of the matrix: which paper table it reproduces and its trials (all seeds)."""

    name: str
    table: str
    title: str
    trial_ids: list[str]


@dataclass
class TrialRecord:
    """One trial as the report sees it. `status`: completed | failed | missing | another word."""

    id: str
    config: dict[str, Any]
    studies: list[str]
    status: str
    dir: Path
    error: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    curve: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    response_stats: dict[str, float | None] = field(default_factory=dict)
    # the localisation ladder (`harness.record.MetricsRecord`); empty in results from before it
    classification: dict[str, dict[str, Any]] = field(default_factory=dict)
    readouts: dict[str, dict[str, float | None]] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, float | None] = field(default_factory=dict)  # why link 3 fails; empty before issue 20
    evaluation: dict[str, Any] = field(default_factory=dict)  # how the metrics were computed (MPII: head_size_source)
    machine: dict[str, Any] = field(default_factory=dict)  # whose arithmetic trained it; empty before 2026-12-05
    reference: str = ""  # its mean-pose reference's name (index.json); "" in folders written before it

    @property
    def reference_name(self) -> str:
        """The file stem of its mean-pose reference: index.json's name, else (older folders) the dataset's."""
        return self.reference or self.dataset_name

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0))

    @property
    def dataset_name(self) -> str:
        return str(self.config.get("dataset", {}).get("name", "?"))

    @property
    def kind(self) -> str:
        return str(self.config.get("dataset", {}).get("kind", "?"))


@dataclass
class Reference:
    """The mean-pose reference of one dataset (harness/reference.py)."""

    dataset: str
    kind: str
    split: str
    metrics: dict[str, float | None]
    per_image: Path | None = None  # references/<name>.npz where it exists (older references lack it)
    input_size: tuple[int, ...] = ()
    evaluation: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The dataset, with the crop size where it is known (references differ by input size)."""
        return f"{self.dataset} {'x'.join(map(str, self.input_size))}".strip()


@dataclass
class ResultsFolder:
    root: Path
    matrix: str
    scale: str
    source: str
    studies: dict[str, StudyIndex]
    trials: dict[str, TrialRecord]
    references: dict[str, Reference]  # by reference name (TrialRecord.reference_name)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    except ValueError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None


def _need(cond: bool, path: Path, problem: str) -> None:
    if not cond:
        raise UserError(f"{path}: {problem}")


def load_trial(trial_id: str, entry: dict[str, Any], root: Path) -> TrialRecord:
    """The trial's record from its metrics.json (missing when there is none)."""
    tdir = root / trial_id
    rec = TrialRecord(id=trial_id, config=entry["config"], studies=list(entry.get("studies", [])),
                      status="missing", dir=tdir, reference=str(entry.get("reference") or ""))
    path = tdir / "metrics.json"
    if not path.exists():
        rec.error = "no metrics.json: the trial has not run (or not finished its first epoch)"
        return rec
    record = MetricsRecord.from_json(read_json(path), path)
    rec.status = record.status
    if record.status == FAILED:
        rec.error = record.error or "failed (no error message recorded)"
        return rec
    if not record.completed:
        rec.error = f"not finished (status {record.status!r})"
        return rec
    rec.metrics, rec.curve, rec.timings, rec.cost = record.metrics, record.curve, record.timings, record.cost
    rec.response_stats, rec.evaluation = record.response_stats, record.evaluation
    rec.classification, rec.readouts, rec.errors = record.classification, record.readouts, record.errors
    rec.diagnostics, rec.machine = record.diagnostics, record.machine
    return rec


def _load_index(root: Path) -> dict[str, Any]:
    if not root.is_dir():
        raise UserError(f"{root}: results folder not found")
    path = root / "index.json"
    if not path.is_file():
        raise UserError(f"{path}: not found (a results folder has an index.json; run 'harness run' first)")
    index = read_json(path)
    _need(isinstance(index, dict), path, "must be a JSON object")
    for key, tp in (("studies", dict), ("trials", dict)):
        _need(isinstance(index.get(key), tp), path, f"'{key}' must be a mapping")
    for tid, entry in index["trials"].items():
        _need(bool(SAFE_NAME.match(tid)) and ".." not in tid, path, f"trial id {tid!r} is not a plain folder name")
        _need(isinstance(entry, dict) and isinstance(entry.get("config"), dict), path,
              f"'trials.{tid}' must hold a 'config' mapping")
        _need(isinstance(entry.get("reference", ""), str), path, f"'trials.{tid}.reference' must be a name")
        _need(isinstance(entry["config"].get("dataset"), dict) and isinstance(entry["config"].get("model"), dict),
              path, f"'trials.{tid}.config' lacks 'dataset' or 'model'")
    for name, study in index["studies"].items():
        _need(isinstance(study, dict) and isinstance(study.get("trials"), list), path,
              f"'studies.{name}' must hold a 'trials' list")
        for tid in study["trials"]:
            _need(tid in index["trials"], path, f"'studies.{name}' lists trial {tid!r} that 'trials' does not have")
    return index


def load_reference(root: Path, name: str) -> Reference | None:
    """`references/<name>.json`, or None where there is none (or the name is not a file name)."""
    if not SAFE_NAME.match(name) or ".." in name:
        return None
    path = root / "references" / f"{name}.json"
    if not path.is_file():
        return None
    data = read_json(path)
    _need(isinstance(data, dict) and isinstance(data.get("metrics"), dict), path, "must hold a 'metrics' mapping")
    size = data.get("input_size")
    evaluation = data.get("evaluation")
    arrays = path.with_suffix(".npz")
    return Reference(dataset=str(data.get("dataset", name)), kind=str(data.get("kind", "?")),
                     split=str(data.get("split", "val")), metrics=number_map(data["metrics"], path, "metrics"),
                     per_image=arrays if arrays.is_file() else None,
                     input_size=tuple(int(v) for v in size) if isinstance(size, list) and all(
                         isinstance(v, int) for v in size) else (),
                     evaluation=evaluation if isinstance(evaluation, dict) else {})


def load_results(root: Path) -> ResultsFolder:
    """Everything the report reads, checked; bad files raise `UserError` naming the file."""
    root = Path(root)
    index = _load_index(root)
    trials = {tid: load_trial(tid, entry, root) for tid, entry in index["trials"].items()}
    studies = {
        name: StudyIndex(name=str(name), table=str(s.get("table", "")), title=str(s.get("title") or name),
                         trial_ids=list(s["trials"]))
        for name, s in index["studies"].items()
    }
    references = {}
    for t in trials.values():
        if t.reference_name not in references:
            references[t.reference_name] = load_reference(root, t.reference_name)
    return ResultsFolder(root=root, matrix=str(index.get("matrix", root.name)), scale=str(index.get("scale", "?")),
                         source=str(index.get("source", "")), studies=studies, trials=trials,
                         references={k: v for k, v in references.items() if v is not None})


def load_arrays(path: Path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray] | None:
    """An .npz of plain arrays (maps.npz, prototypes.npz); None when absent, UserError when broken."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable .npz file ({exc})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise UserError(f"{path}: lacks {', '.join(missing)}")
    return arrays
