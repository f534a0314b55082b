"""Mean ± standard deviation over seeds, with n, for every (row, metric) of a table.

The standard deviation is the sample one (n - 1 in the denominator), undefined for one seed.
Only completed trials count; a metric that is null (undefined) in a trial is left out of that
cell, so a cell's n can be smaller than its row's number of seeds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import pandas as pd

from harness.report.loading import TrialRecord
from harness.report.rows import Row


@dataclass(frozen=True)
class Summary:
    mean: float | None
    std: float | None
    n: int


EMPTY = Summary(None, None, 0)


def summarize_rows(rows: list[Row], names: Iterable[str],
                   value_of: Callable[[TrialRecord, str], float | None] | None = None
                   ) -> dict[tuple[int, str], Summary]:
    """{(row number, name): Summary} over each row's completed trials (default: `metrics[name]`)."""
    get = value_of or (lambda t, name: t.metrics.get(name))
    names = list(names)
    records = []
    for row in rows:
        for t in row.completed:
            for name in names:
                value = get(t, name)
                if value is not None and not (isinstance(value, float) and math.isnan(value)):
                    records.append((row.number, name, float(value)))
    out = {(r.number, name): EMPTY for r in rows for name in names}
    if not records:
        return out
    frame = pd.DataFrame.from_records(records, columns=["row", "name", "value"])
    agg = frame.groupby(["row", "name"], sort=True)["value"].agg(["mean", "std", "count"])
    for (number, name), rec in agg.iterrows():
        std = None if pd.isna(rec["std"]) else float(rec["std"])
        out[(int(number), str(name))] = Summary(float(rec["mean"]), std, int(rec["count"]))
    return out
