"""Shared fixtures: the synthetic-twin cache, the real sample files (tests/data/samples, see
tests/samples.py) and a private user cache folder (tiny configs: tests/tiny.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from samples import SAMPLES


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def twin_cache(tmp_path_factory) -> Path:
    """One cache of synthetic twins for the whole test session."""
    return tmp_path_factory.mktemp("twins")


@pytest.fixture(autouse=True, scope="session")
def user_cache(tmp_path_factory) -> Path:
    """`harness plan`'s cache folder (normally under ~/.cache) kept inside the test session."""
    path = tmp_path_factory.mktemp("user_cache")
    os.environ["LOFR_HARNESS_CACHE"] = str(path)
    return path


@pytest.fixture
def browser_required() -> bool:
    return os.environ.get("HARNESS_REQUIRE_BROWSER") == "1"
