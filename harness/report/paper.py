"""The paper's published numbers (paper_numbers.yaml, shipped with the harness) and row matching.

A paper row matches a study row when every `match` key of its table and of the row has the same
value in the row's flattened config. Which split a run was evaluated on is read from its
validation annotation file name (a file named like `*test*` is a test split; an empty path means
the dataset's standard layout in its spec); the paper's split
is in the data file, and a comparison across different splits is marked as such.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from harness.data.specs import SPECS


PAPER_NUMBERS = Path(__file__).with_name("paper_numbers.yaml")


@dataclass(frozen=True)
class PaperColumn:
    label: str
    metric: str | None  # our evaluator's metric name; "@primary"; None = not comparable


@dataclass(frozen=True)
class PaperRow:
    label: str
    match: dict[str, Any]
    values: dict[str, float | None]
    note: str = ""


@dataclass(frozen=True)
class PaperTable:
    key: str
    caption: str
    split: str
    split_key: str | None
    dataset_kind: str | None
    match: dict[str, Any]
    columns: tuple[PaperColumn, ...]
    rows: tuple[PaperRow, ...]
    note: str = ""

    def find(self, flat: dict[str, Any]) -> PaperRow | None:
        """The paper row that the flattened config `flat` reproduces, if any."""
        if not _matches(self.match, flat):
            return None
        for row in self.rows:
            if _matches(row.match, flat):
                return row
        return None


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_norm(v) for v in value)
    return value


def _matches(match: dict[str, Any], flat: dict[str, Any]) -> bool:
    return all(key in flat and _norm(flat[key]) == _norm(value) for key, value in match.items())


def _table(key: str, data: dict[str, Any]) -> PaperTable:
    columns = tuple(PaperColumn(str(label), None if metric is None else str(metric)) for label, metric in data["columns"])
    labels = {c.label for c in columns}
    rows = []
    for r in data["rows"]:
        values = {str(k): (None if v is None else float(v)) for k, v in r["values"].items()}
        unknown = set(values) - labels
        if unknown:
            raise ValueError(f"{PAPER_NUMBERS}: {key} row {r['label']!r} has values for unknown columns {sorted(unknown)}")
        rows.append(PaperRow(str(r["label"]), dict(r.get("match") or {}), values, str(r.get("note") or "")))
    return PaperTable(key=key, caption=str(data["caption"]), split=str(data["split"]),
                      split_key=data.get("split_key"), dataset_kind=data.get("dataset_kind"),
                      match=dict(data.get("match") or {}), columns=columns, rows=tuple(rows),
                      note=str(data.get("note") or ""))


@lru_cache(maxsize=4)
def load_paper_numbers(path: Path = PAPER_NUMBERS) -> dict[str, PaperTable]:
    """{table key: PaperTable} for table1 ... table7."""
    with open(path) as fh:
        data = yaml.safe_load(fh)
    return {key: _table(key, body) for key, body in data.items()}


def split_of(flat: dict[str, Any]) -> str:
    """Which split a run was evaluated on: test-dev, test or val (from the val annotation's name)."""
    if flat.get("dataset.synthetic"):
        return "synthetic val"
    val_ann = str(flat.get("dataset.val_ann") or "")
    spec = SPECS.get(str(flat.get("dataset.kind")))
    layout = getattr(spec, "layout", None)
    if not val_ann and layout is not None:
        val_ann = layout.val_ann  # an empty config path means the dataset's standard layout
    name = Path(val_ann).name.lower().replace("_", "-")
    if "test-dev" in name or "testdev" in name:
        return "test-dev"
    if "test" in name:
        return "test"
    return "val"


def is_full_scale(flat: dict[str, Any]) -> bool:
    """Rows whose numbers may be set beside the paper's: full scale on the real dataset."""
    return flat.get("scale") == "full" and not flat.get("dataset.synthetic")
