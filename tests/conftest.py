"""Shared fixtures: the synthetic-twin cache and the sample-data folder (tiny configs: tests/tiny.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"real sample data not found at {SAMPLES} (it lives beside the project in ../shared)")
    return SAMPLES


@pytest.fixture(scope="session")
def twin_cache(tmp_path_factory) -> Path:
    """One cache of synthetic twins for the whole test session."""
    return tmp_path_factory.mktemp("twins")


@pytest.fixture
def browser_required() -> bool:
    return os.environ.get("HARNESS_REQUIRE_BROWSER") == "1"
