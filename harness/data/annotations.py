"""Reading annotation files: json with a one-line `UserError` naming the file when it is unusable."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import UserError


def read_json(path: Path, what: str) -> Any:
    try:
        with open(path, "rb") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise UserError(f"{path}: not found ({what})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({what}): {str(exc).splitlines()[0]}") from None


def bad(path: Path, problem: str) -> UserError:
    return UserError(f"{path}: {problem}")
