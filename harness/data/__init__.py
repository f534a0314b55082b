"""Datasets: keypoint facts (`specs`), loaders of the real formats, affine crops and augmentation,
torch datasets with the labels of each supervision regime, and synthetic twins (`synth`).

Entry points, imported from their modules: `build.build_dataset`, `build.load_split`,
`collate.collate_train` / `collate.collate_eval`, `mean_pose.mean_pose`. This file imports
nothing, so that `harness.data.specs` (read by the config, the plan and the report) stays light.
"""
