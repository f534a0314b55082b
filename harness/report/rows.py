"""Rows of a study: its trials grouped by config (seed aside), in the table's order, each row's
comparison row, and the row one module fewer (`module_step`).

A row is one distinct config of a study ignoring `seed` and `device`; its trials are the seeds.
How rows are ordered, named and compared is the table's declaration (`harness/tables/`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.paper.modules import Module, modules, switches_on
from harness.report.loading import TrialRecord
from harness.tables.declaration import Comparison, Table, keys_of

IGNORED_KEYS = ("seed", "device")


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
        return switches_on(self.flat)


def _settings(flat: dict[str, Any], ignore: set[str] | tuple[str, ...]) -> tuple:
    """A flattened config's settings but `ignore`d keys, hashable and in key order: what two rows must share."""
    return tuple(sorted((k, repr(v)) for k, v in flat.items() if k not in ignore))


def row_key(flat: dict[str, Any]) -> tuple:
    return _settings(flat, IGNORED_KEYS)


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


def order_rows(rows: list[Row], table: Table) -> list[Row]:
    """Rows in the paper's order for `table` (ties keep the matrix's order), numbered from 1."""
    ordered = sorted(rows, key=lambda r: table.order(r.flat))
    for number, row in enumerate(ordered, start=1):
        row.number = number
    return ordered


def varying_keys(rows: list[Row]) -> list[str]:
    """Dotted keys whose value differs between rows (seed and device aside), sorted."""
    keys = sorted({k for r in rows for k in r.flat if k not in IGNORED_KEYS})
    return [k for k in keys if len({repr(r.flat.get(k)) for r in rows}) > 1]


def short_label(row: Row, table: Table) -> str:
    """A row's name in the tables and captions: its number and the table's `name`."""
    return f"#{row.number} {table.name(row.flat)}"


def figure_label(row: Row, table: Table) -> str:
    """A row's name inside a figure (legend, row label): the table's `figure_name` where it has one
    (a readings row without its readings), else `short_label`; the number keys it to the table."""
    if table.figure_name is None:
        return short_label(row, table)
    return f"#{row.number} {table.figure_name(row.flat)}"


def figure_key(table: Table) -> str:
    """The sentence a figure's caption adds where its rows go by `figure_name`, else ''."""
    return "" if table.figure_name is None else " Rows by number: #n is the table's row n, named there in full."


def reference_row(row: Row, rows: list[Row], comparison: Comparison) -> Row | None:
    """The row `row` is compared with, or None (it is the reference itself, or there is none)."""
    if comparison.is_reference(row.flat):
        return None
    ignore = set(IGNORED_KEYS) | set(keys_of(comparison.vary))
    mine = _settings(row.flat, ignore)
    for other in rows:
        if other is not row and comparison.is_reference(other.flat) and _settings(other.flat, ignore) == mine:
            return other
    return None


def module_step(row: Row, rows: list[Row]) -> tuple[Row, Module] | None:
    """The row that differs from `row` by one module alone, and that module: Table 5's reading of a
    chain ("+ SPE", "+ SPE + RePPG", ...), where each row adds one module to the row above it.

    Of the modules `row` switches on, the latest in `MODULES`' (the paper's) order whose removal
    leaves a row of `rows`: that row has the same switches but this one off, and the same settings
    but this module's own (`Module.params`, read only where it is on) and those of modules off in
    both rows (read by neither). None for a row with no module on, or with no such row. Why the
    latest: a chain adds the paper's modules in its order, so the last one on is the row's own; in
    a factorial (the 2 x 2 over RePPG and PDC) it picks one of the two, and the factorial page
    gives both main effects."""
    on = switches_on(row.flat)
    declared = modules()
    for index in reversed(range(len(declared))):
        if not on[index]:
            continue
        wanted = tuple(False if i == index else s for i, s in enumerate(on))
        unread = {p for i, m in enumerate(declared) if not wanted[i] for p in m.params}
        ignore = set(IGNORED_KEYS) | {m.key for m in declared} | unread
        mine = _settings(row.flat, ignore)
        for other in rows:
            if other is not row and switches_on(other.flat) == wanted and _settings(other.flat, ignore) == mine:
                return other, declared[index]
    return None
