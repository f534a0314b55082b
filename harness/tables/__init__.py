"""The paper's tables, one declaration a file, and the lookups the matrix, the plan and the report share.

`TABLES` (key -> `Table`) is the only table lookup in the harness; a matrix study names one in
`table:`. `EVERY_TABLE` holds the metric columns that every study table shows beyond its own.
Adding a table is one file here plus its line in `TABLES`; a column on every table is one entry
in `EVERY_TABLE`.
"""
from __future__ import annotations

from harness.data.specs import SPECS
from harness.tables.datasets import DATASETS
from harness.tables.declaration import LOCATION, PRIMARY, Column, PaperNumbers, Table
from harness.tables.factorial import FACTORIAL
from harness.tables.readings import READINGS
from harness.tables.table1 import TABLE1
from harness.tables.table2 import TABLE2
from harness.tables.table3 import TABLE3
from harness.tables.table4 import TABLE4
from harness.tables.table5 import TABLE5
from harness.tables.table6 import TABLE6
from harness.tables.table7 import TABLE7

TABLES: dict[str, Table] = {t.key: t for t in (TABLE1, TABLE2, TABLE3, TABLE4, TABLE5, TABLE6, FACTORIAL, DATASETS,
                                               READINGS)}

# Beyond the paper, every table shows its dataset's location metric (box PCK@0.1 for COCO-style
# datasets: informative where OKS AP is 0 at small crops), unless the table already has it.
EVERY_TABLE: tuple[Column, ...] = (Column(LOCATION, LOCATION),)


def table_for(key: str) -> Table:
    """The declaration of `key`; a key no declaration has (a results folder of another version of the
    harness) gets the defaults of a `Table` and no title of its own (the study's is used)."""
    return TABLES[key] if key in TABLES else Table(key=key, title="", description=key)


def metric_name(metric: str | None, kind: str) -> str | None:
    """A column's metric for a dataset kind: PRIMARY / LOCATION resolved, None where unknown."""
    if metric == PRIMARY:
        return SPECS[kind].primary_metric if kind in SPECS else None
    if metric == LOCATION:
        return SPECS[kind].location_metric if kind in SPECS else None
    return metric


def metric_columns(table: Table, kind: str) -> list[tuple[str, str]] | None:
    """[(header, metric name)] of `table` on a dataset of `kind`: its own columns (else the dataset's),
    then `EVERY_TABLE`'s that it lacks; None for a kind without a spec."""
    if kind not in SPECS:
        return None
    own = table.columns.get(kind)
    out = [(c.header, c.metric) for c in own] if own is not None else list(SPECS[kind].table_columns)
    for column in EVERY_TABLE:
        metric = metric_name(column.metric, kind)
        if metric and metric not in [m for _, m in out]:
            out.append((metric if column.header in (PRIMARY, LOCATION) else column.header, metric))
    return out


def paper_for(table: Table, kind: str) -> PaperNumbers | None:
    """The published numbers a study's rows are set beside: the table's own, else those of the table
    that reports studies of the dataset's kind."""
    if table.paper is not None:
        return table.paper
    return next((t.paper for t in TABLES.values() if kind in t.paper_for_kinds), None)


__all__ = ["TABLES", "EVERY_TABLE", "TABLE7", "Table", "Column", "table_for", "metric_name", "metric_columns",
           "paper_for"]
