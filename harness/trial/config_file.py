"""`load_trial_config`: a trial config from a YAML / JSON file (`harness trial CONFIG`)."""
from __future__ import annotations

from pathlib import Path

import yaml

from harness.config import ConfigError, TrialConfig
from harness.errors import UserError


def load_trial_config(path: Path) -> TrialConfig:
    """A trial config file: a TrialConfig mapping, or a metrics.json (its `config` is used)."""
    if not path.is_file():
        raise UserError(f"{path}: trial config not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML/JSON ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict) and "config" in data and "status" in data:
        data = data["config"]
    try:
        return TrialConfig.from_dict(data)
    except ConfigError as exc:
        raise UserError(f"{path}: {exc}") from None
