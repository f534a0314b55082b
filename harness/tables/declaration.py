"""The typed declaration of one paper table (`Table`) and the parts it is made of.

A declaration holds everything the harness knows about a table: its title, the columns that name
its rows (and the config keys they cover), its metric columns per dataset kind, the paper's row
order, what each row is compared with, the paper's published numbers, and the report sections
beyond the results table. The matrix checks a study's `table` against the declarations, the plan
lists them, and the report renders them. Rows are read as flattened configs
({dotted key: value}, lists as tuples: `Flat`).

What depends on the declared modules (`harness.paper.modules`: the method column's keys, the
baseline comparison, the check-mark columns) is given as a function, read when used (`keys_of`,
`Table.label_columns`), so that a module declared later is in every table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from harness.paper.modules import module_params, switch_keys
from harness.tables.labels import Flat, method_label, switch_order

Keys = tuple[str, ...] | Callable[[], tuple[str, ...]]  # config keys, or a function that reads them when used


def keys_of(keys: Keys) -> tuple[str, ...]:
    return keys() if callable(keys) else keys

PRIMARY = "@primary"  # a column's metric: the dataset's primary metric (`KeypointSpec.primary_metric`)
LOCATION = "@location"  # a column's metric: the dataset's location metric (`KeypointSpec.location_metric`)


@dataclass(frozen=True)
class Column:
    """A metric column: its header and our evaluator's metric name (PRIMARY / LOCATION stand for the
    dataset's; None in the paper's numbers: a column that cannot be compared with ours)."""

    header: str
    metric: str | None


@dataclass(frozen=True)
class LabelColumn:
    """A column that names a table's rows: its header, the row's label, the config keys it covers
    (a key not covered by any label column is shown as its own column where rows differ in it)."""

    header: str
    label: Callable[[Flat], str]
    keys: Keys


@dataclass(frozen=True)
class Comparison:
    """How a table picks each row's comparison row: `vary` keys may differ, the rest must match."""

    vary: Keys
    is_reference: Callable[[Flat], bool]
    label: str


# The defaults of a `Table`, a module ablation's: rows named by their method, compared with the baseline.
METHOD = LabelColumn("Method", method_label, switch_keys)
# The baseline has every module off, so a module's own fields (`Module.params`) are inert in it and
# may differ (confirmation 4's LOFR row at beta 0.01 against its baseline at the default 0.1).
MODULE_BASELINE = Comparison(vary=lambda: switch_keys() + module_params(),
                             is_reference=lambda f: not any(f.get(k) for k in switch_keys()),
                             label="the baseline row (every module off, the settings no module reads equal)")


@dataclass(frozen=True)
class PaperRow:
    """One published row: the config values it was run with and its values by column header
    (None: not readable in the paper's text, never guessed)."""

    label: str
    match: Mapping[str, Any]
    values: Mapping[str, float | None]
    note: str = ""


def _norm(value: Any) -> Any:
    return tuple(_norm(v) for v in value) if isinstance(value, (list, tuple)) else value


def matches(match: Mapping[str, Any], flat: Flat) -> bool:
    """Whether every key of `match` has the same value in the flattened config `flat`."""
    return all(key in flat and _norm(flat[key]) == _norm(value) for key, value in match.items())


@dataclass(frozen=True)
class PaperNumbers:
    """A table's published numbers, as printed (percentages; Table 7: responses in [0, 1]).

    `split` is what the paper evaluated on, `split_key` the same as `paper.split_of` names it
    (test-dev | test | val | None: not stated); `match` holds for every row of the table.
    """

    caption: str
    split: str
    split_key: str | None
    match: Mapping[str, Any]
    columns: tuple[Column, ...]
    rows: tuple[PaperRow, ...]
    note: str = ""

    def __post_init__(self) -> None:
        headers = {c.header for c in self.columns}
        for row in self.rows:
            unknown = set(row.values) - headers
            if unknown:
                raise ValueError(f"{self.caption}: row {row.label!r} has values for unknown columns {sorted(unknown)}")

    def find(self, flat: Flat) -> PaperRow | None:
        """The published row that the flattened config `flat` reproduces, if any."""
        if not matches(self.match, flat):
            return None
        return next((row for row in self.rows if matches(row.match, flat)), None)


@dataclass(frozen=True)
class Table:
    """One paper table (or a study beyond the paper) as the matrix, the plan and the report see it.

    The defaults are a module ablation's: rows named by their method (Baseline, + SPE, ...,
    Ours-LOFR), in the paper's Table 5 order, each compared with the baseline.

    Attributes:
        key: the name a matrix study gives in `table:`.
        title: the report page's title.
        description: a study's title when the matrix gives none.
        labels: the columns that name a row (check marks, D_En / D_De, Method, ...), or a function
            that gives them when used (`label_columns`).
        order: the sort key of a row in the paper's order (ties keep the matrix's order).
        name: a few words that name a row in the tables, captions and (without `figure_name`) figures.
        figure_name: a shorter name for the figures (legends, row labels) where `name` is long, the
            row's number keying it to the table's row; None: `name`.
        comparison: each row's comparison row (the Δ column).
        columns: dataset kind -> metric columns; a kind not listed gets its dataset's
            `KeypointSpec.table_columns`. `EVERY_TABLE` (harness/tables/__init__.py) adds to both.
        paper: the published numbers, or None.
        paper_for_kinds: the dataset kinds whose studies without numbers of their own (the
            factorial, the dataset axis) are set beside this table's numbers.
        sections: report sections beyond the results table (`harness/report/sections.py`).
    """

    key: str
    title: str
    description: str
    labels: tuple[LabelColumn, ...] | Callable[[], tuple[LabelColumn, ...]] = (METHOD,)
    order: Callable[[Flat], Any] = switch_order
    name: Callable[[Flat], str] = method_label
    figure_name: Callable[[Flat], str] | None = None
    comparison: Comparison = MODULE_BASELINE
    columns: Mapping[str, tuple[Column, ...]] = field(default_factory=dict)
    paper: PaperNumbers | None = None
    paper_for_kinds: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()

    @property
    def label_columns(self) -> tuple[LabelColumn, ...]:
        return self.labels() if callable(self.labels) else self.labels

    @property
    def label_keys(self) -> tuple[str, ...]:
        """The config keys that name this table's rows."""
        return tuple(dict.fromkeys(k for column in self.label_columns for k in keys_of(column.keys)))
