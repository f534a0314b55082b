"""Which rows may be set beside the paper's published numbers, and which split a run was evaluated on.

The published numbers themselves are part of each table's declaration (`harness/tables/`). Which
split a run was evaluated on is read from its validation annotation file name (a file named like
`*test*` is a test split; an empty path means the dataset's standard layout in its spec); a
comparison across different splits is marked as such.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.data.specs import SPECS


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
