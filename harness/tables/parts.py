"""What several table declarations share: label columns, the module switches of published rows, and
a helper that writes a published row from a line of the paper's table."""
from __future__ import annotations

from typing import Any, Mapping

from harness.tables.declaration import Column, LabelColumn, PaperRow
from harness.tables.labels import SWITCH_NAMES, SWITCHES, backbone_label, value_label


def switch_match(*on: bool) -> dict[str, bool]:
    """A published row's match on the four modules (SPE, MS, RePPG, PDC on or off)."""
    return dict(zip(SWITCHES, on))


BASELINE = switch_match(False, False, False, False)
LOFR = switch_match(True, True, True, True)


def published(label: str, match: Mapping[str, Any], columns: tuple[Column, ...], values: tuple,
              note: str = "") -> PaperRow:
    """A published row from the values of one line of the paper's table, in its column order."""
    return PaperRow(label, match, dict(zip((c.header for c in columns), values)), note)


def _check(key: str) -> LabelColumn:
    return LabelColumn(SWITCH_NAMES[key], lambda f: value_label(bool(f.get(key))), (key,))


SWITCH_COLUMNS = tuple(_check(k) for k in SWITCHES)  # Table 5's check marks
BACKBONE = LabelColumn("Backbone", backbone_label, ("model.backbone",))
