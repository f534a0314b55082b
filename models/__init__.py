"""The LOFR network (Location-Free Human Pose Estimation) and its switchable modules.

Self-contained: nothing here imports the harness (a test builds a network with `harness` absent).
Import what you need from its modules: `models.config` (`LOFRConfig`, no torch), `models.build`
(`build_model`, `build_criterion`, `param_groups`), `models.backbone` (`CheckpointError`),
`models.prototype_matrices`; this file imports nothing, so that reading a config needs no torch.
"""
