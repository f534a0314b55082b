"""Where the real sample files live: `tests/data/samples/` (see its README for what and whose)."""
from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
