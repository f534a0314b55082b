"""What several table declarations share: label columns, the module switches of published rows, and
a helper that writes a published row from a line of the paper's table."""
from __future__ import annotations

from typing import Any, Mapping

from harness.paper.modules import by_name, modules
from harness.tables.declaration import Column, LabelColumn, PaperRow
from harness.tables.labels import backbone_label, value_label


def switch_match(*on: str) -> dict[str, bool]:
    """A published row's match on the declared modules: the ones named in `on` (e.g. "SPE", "MS")
    on, every other one off."""
    keys = {by_name(name).key for name in on}
    return {m.key: m.key in keys for m in modules()}


BASELINE = switch_match()
LOFR = switch_match(*(m.name for m in modules() if m.paper))


def published(label: str, match: Mapping[str, Any], columns: tuple[Column, ...], values: tuple,
              note: str = "") -> PaperRow:
    """A published row from the values of one line of the paper's table, in its column order."""
    return PaperRow(label, match, dict(zip((c.header for c in columns), values)), note)


def switch_columns() -> tuple[LabelColumn, ...]:
    """One check-mark column per declared module (Table 5, the factorial), read when used."""
    return tuple(LabelColumn(m.name, (lambda key: lambda f: value_label(bool(f.get(key))))(m.key), (m.key,))
                 for m in modules())
BACKBONE = LabelColumn("Backbone", backbone_label, ("model.backbone",))
