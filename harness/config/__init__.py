"""A trial's typed configuration: the dataclasses (`trial_config`), the strict dict <-> dataclass
conversion with declared ranges (`typed`) and what a trial id hashes (`identity`).

Light: nothing here imports torch (`models.config` is a plain dataclass module), so `harness plan`,
`harness report` and `harness readings` read configs without it.
"""
from harness.config.trial_config import (DatasetConfig, ScheduleConfig, SupervisionConfig, TrialConfig,
                                         loader_workers)
from harness.config.typed import ConfigError, check_partial, field_type, from_dict, merge, to_dict

__all__ = ["ConfigError", "DatasetConfig", "ScheduleConfig", "SupervisionConfig", "TrialConfig", "check_partial",
           "field_type", "from_dict", "loader_workers", "merge", "to_dict"]
