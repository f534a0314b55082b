"""How a row is named and ordered from its flattened config ({dotted key: value}, lists as tuples).

Pure functions that table declarations and the report share: method / backbone / size /
labelled-fraction labels, and the sort keys of the paper's row orders.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from harness.paper.modules import modules

Flat = Mapping[str, Any]

BACKBONE_SHORT = {"resnet18": "R18", "resnet50": "R50", "hrnet_w32": "HR32", "hrnet_w48": "HR48"}


def value_label(value: Any) -> str:
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, tuple):
        return "×".join(str(v) for v in value)
    if value is None:
        return "–"
    return str(value)


def method_label(flat: Flat) -> str:
    """Baseline / Ours-LOFR / the modules on (`harness.paper.modules`); Table 4's Sup-only and
    Ours-WS by regime. "Ours" = every one of the paper's modules on; a switch beyond the paper
    that is on is named beside it ("Ours-LOFR + X")."""
    regime = flat.get("supervision.regime", "location_free")
    declared = modules()
    on = [m for m in declared if flat.get(m.key)]
    paper_on = [m for m in on if m.paper]
    everything = len(paper_on) == sum(m.paper for m in declared)
    extra = "".join(f" + {m.name}" for m in on if not m.paper)
    names = " + ".join(m.name for m in on)
    if regime == "sup_only":
        return "Sup-only"
    if regime in ("semi", "full"):
        return "Ours-WS" + extra if everything else f"WS ({names or 'baseline'})"
    if not on:
        return "Baseline"
    if everything:
        return "Ours-LOFR" + extra
    return "+ " + names


def backbone_label(flat: Flat) -> str:
    name = str(flat.get("model.backbone", "?"))
    return BACKBONE_SHORT.get(name, name)


def size_label(flat: Flat) -> str:
    size = flat.get("model.input_size")
    if isinstance(size, tuple) and len(size) == 2:
        return f"{size[0]}×{size[1]}"
    return str(size)


def fraction_label(flat: Flat) -> str:
    regime = flat.get("supervision.regime")
    fraction = flat.get("supervision.fraction")
    if regime == "full" or (regime == "sup_only" and fraction is None):
        return "ALL"
    if fraction is None:
        return "none"
    return f"{100 * float(fraction):g}%"


def switch_order(flat: Flat) -> tuple:
    """The paper's Table 5 order: by number of modules on, then in declaration order (SPE, MS,
    RePPG, PDC) first."""
    on = [bool(flat.get(m.key)) for m in modules()]
    return (sum(on), tuple(not v for v in on))


def backbone_order(flat: Flat) -> int:
    names = list(BACKBONE_SHORT)
    name = flat.get("model.backbone")
    return names.index(name) if name in names else len(names)


def fraction_order(flat: Flat) -> float:
    fraction = flat.get("supervision.fraction")
    return 2.0 if fraction is None else float(fraction)


def named_by(*parts: Callable[[Flat], str]) -> Callable[[Flat], str]:
    """A row's name from label functions, joined by spaces (Table 1: "Ours-LOFR R50 256×192")."""
    return lambda flat: " ".join(part(flat) for part in parts)
