"""The factorial study (beyond the paper): all 16 combinations of SPE, MS, RePPG and PDC."""
from harness.tables.declaration import Table
from harness.tables.parts import SWITCH_COLUMNS
from harness.tables.table5 import AP_AR

FACTORIAL = Table(
    key="factorial",
    title="Factorial: SPE × MS × RePPG × PDC",
    description="Factorial: all 16 combinations of SPE, MS, RePPG, PDC",
    labels=SWITCH_COLUMNS,
    columns={"coco": AP_AR, "crowdpose": AP_AR},
    sections=("factorial_analysis",),
)
