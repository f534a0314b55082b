"""Rows of a study: its trials grouped by config (seed aside), labels, and each row's comparison row.

A row is one distinct config of a study ignoring `seed` and `device`; its trials are the seeds.
What a row is compared with depends on the table: the baseline (all four modules off, every
other setting equal) for the module ablations, the paper's chosen depth (D_En 4, D_De 6) for
Table 6, and Sup-only at the same labelled fraction for Table 4's Ours-WS rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from harness.report.loading import TrialRecord

IGNORED_KEYS = ("seed", "device")
SWITCHES = ("model.spe", "model.multi_scale", "model.reppg", "model.pdc")
SWITCH_NAMES = {"model.spe": "SPE", "model.multi_scale": "MS", "model.reppg": "RePPG", "model.pdc": "PDC"}
BACKBONE_SHORT = {"resnet18": "R18", "resnet50": "R50", "hrnet_w32": "HR32", "hrnet_w48": "HR48"}


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> {dotted key: value}; lists become tuples so that values are hashable."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = _freeze(value)
    return out


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass
class Row:
    """One distinct config of a study and its trials (one per seed), in seed order."""

    number: int
    flat: dict[str, Any]
    trials: list[TrialRecord] = field(default_factory=list)

    @property
    def completed(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.completed]

    @property
    def dataset_name(self) -> str:
        return str(self.flat.get("dataset.name", "?"))

    @property
    def kind(self) -> str:
        return str(self.flat.get("dataset.kind", "?"))

    def switches(self) -> tuple[bool, ...]:
        return tuple(bool(self.flat.get(k, False)) for k in SWITCHES)


def row_key(flat: dict[str, Any]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in flat.items() if k not in IGNORED_KEYS))


def group_rows(trials: list[TrialRecord]) -> list[Row]:
    """Rows in the order their first trial appears (the matrix's row order)."""
    rows: dict[tuple, Row] = {}
    for t in trials:
        flat = flatten(t.config)
        key = row_key(flat)
        if key not in rows:
            rows[key] = Row(number=len(rows) + 1, flat=flat)
        rows[key].trials.append(t)
    for r in rows.values():
        r.trials.sort(key=lambda t: (t.seed, t.id))
    return list(rows.values())


def _switch_order(flat: dict[str, Any]) -> tuple:
    """The paper's Table 5 order: by number of modules on, then SPE, MS, RePPG, PDC first."""
    on = [bool(flat.get(k)) for k in SWITCHES]
    return (sum(on), tuple(not v for v in on))


def _backbone_order(flat: dict[str, Any]) -> int:
    names = list(BACKBONE_SHORT)
    name = flat.get("model.backbone")
    return names.index(name) if name in names else len(names)


def _fraction_order(flat: dict[str, Any]) -> float:
    fraction = flat.get("supervision.fraction")
    return 2.0 if fraction is None else float(fraction)


ROW_ORDER = {
    "table6": lambda f: (f.get("model.enc_layers", 0), f.get("model.dec_layers", 0)),
    "table4": lambda f: (f.get("supervision.regime") != "sup_only", _backbone_order(f), _fraction_order(f)),
    "table1": lambda f: (_backbone_order(f), f.get("model.input_size") or (), _switch_order(f)),
}


def order_rows(rows: list[Row], table: str) -> list[Row]:
    """Rows in the paper's order for `table` (ties keep the matrix's order), numbered from 1."""
    key = ROW_ORDER.get(table, _switch_order)
    ordered = sorted(rows, key=lambda r: key(r.flat))
    for number, row in enumerate(ordered, start=1):
        row.number = number
    return ordered


def varying_keys(rows: list[Row]) -> list[str]:
    """Dotted keys whose value differs between rows (seed and device aside), sorted."""
    keys = sorted({k for r in rows for k in r.flat if k not in IGNORED_KEYS})
    return [k for k in keys if len({repr(r.flat.get(k)) for r in rows}) > 1]


def method_label(flat: dict[str, Any]) -> str:
    """Baseline / Ours-LOFR / the modules on; Table 4's Sup-only and Ours-WS by regime."""
    regime = flat.get("supervision.regime", "location_free")
    on = [SWITCH_NAMES[k] for k in SWITCHES if flat.get(k)]
    if regime == "sup_only":
        return "Sup-only"
    if regime in ("semi", "full"):
        return "Ours-WS" if len(on) == len(SWITCHES) else f"WS ({' + '.join(on) or 'baseline'})"
    if not on:
        return "Baseline"
    if len(on) == len(SWITCHES):
        return "Ours-LOFR"
    return "+ " + " + ".join(on)


def backbone_label(flat: dict[str, Any]) -> str:
    name = str(flat.get("model.backbone", "?"))
    return BACKBONE_SHORT.get(name, name)


def size_label(flat: dict[str, Any]) -> str:
    size = flat.get("model.input_size")
    if isinstance(size, tuple) and len(size) == 2:
        return f"{size[0]}×{size[1]}"
    return str(size)


def fraction_label(flat: dict[str, Any]) -> str:
    regime = flat.get("supervision.regime")
    fraction = flat.get("supervision.fraction")
    if regime == "full" or (regime == "sup_only" and fraction is None):
        return "ALL"
    if fraction is None:
        return "none"
    return f"{100 * float(fraction):g}%"


def value_label(value: Any) -> str:
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, tuple):
        return "×".join(str(v) for v in value)
    if value is None:
        return "–"
    return str(value)


def short_label(row: Row, table: str) -> str:
    """A few words that name a row in legends and figure titles."""
    if table == "table6":
        return f"#{row.number} En{row.flat.get('model.enc_layers')}/De{row.flat.get('model.dec_layers')}"
    if table == "table4":
        return f"#{row.number} {method_label(row.flat)} {backbone_label(row.flat)} {fraction_label(row.flat)}"
    if table == "table1":
        return f"#{row.number} {method_label(row.flat)} {backbone_label(row.flat)} {size_label(row.flat)}"
    return f"#{row.number} {method_label(row.flat)}"


@dataclass(frozen=True)
class Comparison:
    """How a table picks each row's comparison row: `vary` keys may differ, the rest must match."""

    vary: tuple[str, ...]
    is_reference: Callable[[dict[str, Any]], bool]
    label: str


MODULE_BASELINE = Comparison(vary=SWITCHES, is_reference=lambda f: not any(f.get(k) for k in SWITCHES),
                             label="the baseline row (all four modules off, other settings equal)")
COMPARISONS: dict[str, Comparison] = {
    "table6": Comparison(vary=("model.enc_layers", "model.dec_layers"),
                         is_reference=lambda f: f.get("model.enc_layers") == 4 and f.get("model.dec_layers") == 6,
                         label="the paper's chosen depth (D_En 4, D_De 6, other settings equal)"),
    "table4": Comparison(vary=SWITCHES + ("model.cls_losses", "supervision.regime"),
                         is_reference=lambda f: f.get("supervision.regime") == "sup_only",
                         label="Sup-only at the same labelled fraction (same backbone and dataset)"),
}


def comparison_for(table: str) -> Comparison:
    return COMPARISONS.get(table, MODULE_BASELINE)


def reference_row(row: Row, rows: list[Row], comparison: Comparison) -> Row | None:
    """The row `row` is compared with, or None (it is the reference itself, or there is none)."""
    if comparison.is_reference(row.flat):
        return None
    ignore = set(IGNORED_KEYS) | set(comparison.vary)

    def rest(flat: dict[str, Any]) -> tuple:
        return tuple(sorted((k, repr(v)) for k, v in flat.items() if k not in ignore))

    mine = rest(row.flat)
    for other in rows:
        if other is not row and comparison.is_reference(other.flat) and rest(other.flat) == mine:
            return other
    return None
