"""The dataset axis (beyond the paper's layout): Baseline and Ours-LOFR on COCO, MPII and CrowdPose."""
from harness.tables.declaration import Table

DATASETS = Table(
    key="datasets",
    title="Datasets: baseline vs LOFR on each dataset",
    description="Datasets: baseline vs LOFR on COCO, MPII and CrowdPose",
)
