"""The factorial study (beyond the paper): all 2^n combinations of the n declared modules
(`harness.paper.modules`: SPE, MS, RePPG and PDC, 16 cells)."""
from harness.tables.declaration import Table
from harness.tables.parts import switch_columns
from harness.tables.table5 import AP_AR

FACTORIAL = Table(
    key="factorial",
    title="Factorial: SPE × MS × RePPG × PDC",
    description="Factorial: all 16 combinations of SPE, MS, RePPG, PDC",
    labels=switch_columns,
    columns={"coco": AP_AR, "crowdpose": AP_AR},
    sections=("factorial_analysis",),
)
