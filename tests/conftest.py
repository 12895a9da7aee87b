"""Shared test fixtures.

The real legacy checkpoints live in ``../shared/fixtures/legacy/`` beside the checkout (CI has them).
They are read in place, never copied; tests that need them skip, saying why, when the folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Fixture trees, not tests of this project: the legacy mini-codebase (with its own tests and conftest, which
# import legacy modules that do not exist) and the codemod's golden output.
collect_ignore = ["legacy_codebase", "golden"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_LEGACY = Path(
    os.environ.get("SIMPLE_CKPT_LEGACY_FIXTURES", PROJECT_ROOT.parent / "shared" / "fixtures" / "legacy")
)


@pytest.fixture(scope="session")
def shared_legacy_dir() -> Path:
    """The folder of real legacy checkpoints, or a skip explaining where it was looked for."""
    if not SHARED_LEGACY.is_dir():
        pytest.skip(f"real legacy fixtures not found at {SHARED_LEGACY} (set SIMPLE_CKPT_LEGACY_FIXTURES)")
    return SHARED_LEGACY


def stress_trials(ci_sample: int, full: int) -> int:
    """How many trials a fault-injection loop runs: a sample by default, all under `make stress`."""
    return full if os.environ.get("SIMPLE_CKPT_STRESS") == "1" else ci_sample


# The stand-in legacy world (fixture `legacy_world`), shared by the migrate and inspect tests.
pytest_plugins = ["legacy_world", "s3_server"]
