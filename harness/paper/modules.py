"""The ablation switches, declared once: the paper's modules (Table 5) and any switch added beside them.

Every place that names, orders, matches or analyses the modules reads `MODULES`: the row labels
(`harness.tables.labels`: "Baseline", "+ SPE + MS", "Ours-LOFR"), the check-mark columns and the
published rows' matches (`harness.tables.parts`, Table 5), the baseline comparison, the plan's
columns (`harness.matrix.plan_view`) and the factorial analysis (2^n cells for n switches,
`harness.report.factorial`). Each is read when it is used, so a switch appended to `MODULES` (a
lab's own module, or a test's) appears everywhere without another edit.

A switch is a boolean config field (`key`); `paper` says whether it is one of the paper's modules:
"Ours-LOFR" is every paper module on (a switch beyond the paper, when on, is named beside it).
`params` are the config fields only that module reads (`models/build.py` reads them only where the
switch is on): in a row with the module off they change nothing, so the baseline comparison ignores
them (a LOFR row at PDC's beta 0.01 is compared with the baseline, whose beta nothing reads).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Module:
    name: str  # the paper's label (check-mark column, method names)
    key: str  # the boolean config field that switches it
    section: str  # where the paper describes it
    title: str
    paper: bool = True  # one of the paper's modules
    params: tuple[str, ...] = ()  # config fields read only where the module is on


MODULES: list[Module] = [
    Module("SPE", "model.spe", "Sec. 3.3", "Spatial-aware Position Encoding",
           params=("model.spe_fusion", "model.spe_sigma", "model.spe_position")),
    Module("MS", "model.multi_scale", "Sec. 3.3", "Multi-scale context learning (strides 4, 8, 16)"),
    # Eq. 2's keypoint vectors exist only to feed RePPG (models/cam.py: no X^c without it)
    Module("RePPG", "model.reppg", "Sec. 3.4", "Relation-encoded Pose Prototype Generation",
           params=("model.gcn_layers", "model.keypoint_vector_weights", "model.keypoint_vector_gradient")),
    # PDC's onset (`schedule.pdc_onset`, beyond the paper) times only PDC's term ("div",
    # harness/trial/training.py `epoch_weights`); the config refuses it with PDC off.
    Module("PDC", "model.pdc", "Sec. 3.4", "Part Diversity Constraint",
           params=("model.beta", "model.pdc_on", "schedule.pdc_onset", "schedule.pdc_from_epoch")),
]


def modules() -> tuple[Module, ...]:
    return tuple(MODULES)


def switch_keys() -> tuple[str, ...]:
    """The config keys of every declared switch, in declaration order."""
    return tuple(m.key for m in MODULES)


def module_params() -> tuple[str, ...]:
    """The config fields that only a declared switch's module reads, in declaration order."""
    return tuple(p for m in MODULES for p in m.params)


def unread_by(flat: Mapping[str, Any], key: str) -> Module | None:
    """The switched-off module that alone would read `key` in this flattened config, or None where
    something reads it or the config does not say the module is off (a row's `model.beta` under PDC
    off is a default nothing uses)."""
    for m in MODULES:
        if key in m.params and m.key in flat and not flat[m.key]:
            return m
    return None


def switches_on(flat: Mapping[str, Any]) -> tuple[bool, ...]:
    """Each declared switch on (True) or off in a flattened config, in declaration order."""
    return tuple(bool(flat.get(m.key, False)) for m in MODULES)


def by_name(name: str) -> Module:
    found = [m for m in MODULES if m.name == name]
    if not found:
        raise KeyError(f"no declared module named {name!r} (declared: {', '.join(m.name for m in MODULES)})")
    return found[0]
