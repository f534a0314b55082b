"""The readings study (beyond the paper): LOFR under declared readings of the paper's ambiguous
passages (`harness/paper/readings.py`), each row named by its method and the choices that differ
from the literal ones, each compared with the baseline under the same readings."""
from harness.paper.modules import module_params
from harness.paper.readings import PASSAGES, describe
from harness.tables.declaration import METHOD, LabelColumn, Table
from harness.tables.labels import Flat, method_label, switch_order

# The passages' keys and the keys their choices read (a sharpness r, the decay's size): covered by the column.
READING_KEYS = frozenset({p.key for p in PASSAGES} | {k for p in PASSAGES for c in p.choices for k in c.params})
READINGS_COLUMN = LabelColumn("Readings (not literal)", lambda f: describe(f) or "literal", tuple(sorted(READING_KEYS)))


def _order(flat: Flat) -> tuple:
    """Rows under the same readings together, the baseline first among them as in Table 5 (the
    paper's order by modules on), then by the readings a module alone reads (SPE's fusion, PDC's
    beta). Why not by the full description: it counts those module-only readings, so a baseline,
    which has none, sorted among or after the LOFR rows it is compared with."""
    shared = {k: v for k, v in flat.items() if k not in module_params()}
    return (describe(shared), switch_order(flat), describe(flat))


READINGS = Table(
    key="readings",
    title="Readings: which reading of the paper localises",
    description="Readings: LOFR under declared readings of the paper's ambiguous passages",
    labels=(METHOD, READINGS_COLUMN),
    order=_order,
    name=lambda f: f"{method_label(f)} [{describe(f) or 'literal'}]",
    # why: a row's readings run to ~400 characters, which crowd a legend or an overlay's row label;
    # the figures name the method and the row's number, the table beside them its readings
    figure_name=method_label,
    # a round whose rows switch two or more modules under one reading (readings_seeds28's
    # RePPG x PDC) gets their factorial contrasts per read-out; other rounds, nothing
    sections=("switched_modules",),
)
